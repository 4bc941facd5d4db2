// The engine's scoring surface over one Model: all-title scoring (score_titles, one prompt;
// score_titles_group, many), teacher-forced span scoring and the throughput yardstick. Each lives in
// the file of its concept (docs/engine.md has the map): scorer.cpp picks the mode; trie_run.cpp,
// bounded_search.cpp and baseline_scoring.cpp score the titles; group_scorer.cpp scores prompts
// together; span_scoring.cpp and throughput.cpp the rest.
#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "model.h"
#include "title_set.h"

namespace labor {

enum class ScoreMode { Trie, Sequential, Reference, Bounded };

// Scoring titles (the addon's scoreTitles; the TypeScript ScoreOptions without the signal).
struct ScoreOptions {
    ScoreMode mode = ScoreMode::Trie;
    bool reuse_prefix = true;  // keep the KV cells of the previous prompt's common prefix
    // Negative control for tests only: every trie node in sequence 0, so siblings see each other.
    bool unsafe_shared_sequence = false;
    // Check the prompt/title boundary on the whole prompt for every title (slow for long prompts)
    // instead of on its last line.
    bool full_boundary_check = false;
    // Bounded mode: best-first search over the trie until the top_k titles are exact, the total
    // probability on the titles is known within `tolerance` nats, and `target` (a title index, or
    // -1) is scored; titles never reached get NaN.
    int32_t top_k = 5;
    double tolerance = 1e-3;
    int32_t target = -1;
    int32_t bounded_batch = 64;  // frontier nodes per llama_decode (at most the model's batch size)
    // Trie mode over several prompts (score_titles_group): prompts whose tries share each
    // llama_decode, each with 256 / cross_batch sequence ids and n_batch / cross_batch tokens of it.
    int32_t cross_batch = 1;
    // The engine's modes use the model's fused output head when it has one; false: llama.cpp's logits
    // for this call (benchmarks show the difference).
    bool output_head = true;

    template <class V, class O>
    static void fields(V &v, O &o) {
        v.choice("mode", o.mode,
                 {{"trie", ScoreMode::Trie}, {"sequential", ScoreMode::Sequential}, {"reference", ScoreMode::Reference},
                  {"bounded", ScoreMode::Bounded}});
        v.value("reusePrefix", o.reuse_prefix);
        v.value("unsafeSharedSequence", o.unsafe_shared_sequence);
        v.value("fullBoundaryCheck", o.full_boundary_check);
        v.integer("topK", o.top_k, {1, options::kInt32Max});
        v.real("tolerance", o.tolerance, options::kPositive);
        v.integer("target", o.target, {-1, options::kInt32Max});
        v.integer("boundedBatch", o.bounded_batch, {1, options::kInt32Max});
        v.integer("crossBatch", o.cross_batch, {1, 16});
        v.value("outputHead", o.output_head);
    }
    void validate() const { options::check_ranges(*this); }
};

// Measuring decode throughput (the addon's throughput).
struct ThroughputOptions {
    int32_t tokens = 0;           // random tokens decoded (required)
    bool all_logits = true;       // an output row for every token
    bool with_logsumexp = false;  // and its log-sum-exp over the vocabulary
    bool output_head = false;     // through the fused output head where the model has one

    template <class V, class O>
    static void fields(V &v, O &o) {
        v.integer("tokens", o.tokens, {1, options::kInt32Max});
        v.value("allLogits", o.all_logits);
        v.value("withLogsumexp", o.with_logsumexp);
        v.value("outputHead", o.output_head);
    }
    void validate() const { options::check_ranges(*this); }
};

struct ScoreStats {
    int64_t prompt_tokens = 0;            // tokens of the prompt (BOS included)
    int64_t prompt_tokens_evaluated = 0;  // of those, evaluated in this call (fewer with prefix reuse)
    int64_t title_tokens = 0;             // tokens of all continuations together
    int64_t trie_nodes = 0;               // trie nodes, root excluded
    int64_t internal_nodes = 0;           // trie nodes with children, root excluded
    int64_t evaluated_tokens = 0;         // every token sent to llama_decode
    int64_t decode_calls = 0;
    int64_t retokenized_titles = 0;       // titles whose tokens in this context differ from the anchor's
    int64_t evaluated_nodes = 0;          // trie nodes evaluated (bounded mode: a fraction of internal_nodes)
    int64_t resolved_titles = 0;          // titles with an exact score (all of them outside bounded mode)
    int64_t bounded_nodes = 0;            // bounded mode: nodes its search evaluated (before any fallback)
    bool bounded_fallback = false;        // bounded mode ran out of sequences and finished as the full trie
    int64_t head_rows = 0;                // output rows normalised by the fused output head (output_head.h)
    double ms_tokenize = 0, ms_decode = 0, ms_logsumexp = 0;
};

struct TitleScores {
    std::vector<double> logp;  // raw log P(continuation | prompt), one per title
    double log_total = 0;      // log of the sum of P over the titles (bounded mode: over the resolved ones)
    double log_total_upper = 0;  // upper bound of log_total (equal to it outside bounded mode)
    ScoreStats stats;
};

TitleScores score_titles(Model &model, const TitleSet &set, const std::string &prompt, const ScoreOptions &opts);

// Trie mode for many prompts (e.g. a worker's successive transitions): groups of opts.cross_batch
// prompts are scored together, the tries of a group sharing every llama_decode and each prompt
// evaluating only what it does not share with the previous prompt. Same scores as score_titles.
std::vector<TitleScores> score_titles_group(Model &model, const TitleSet &set, const std::vector<std::string> &prompts,
                                            const ScoreOptions &opts);

struct SpanScores {
    std::vector<double> logp;            // log P of each span's tokens given everything before it
    std::vector<int32_t> span_tokens;    // tokens in each span
    ScoreStats stats;
};

// Spans are [start, end) byte offsets into text (UTF-8). Each boundary must be a token boundary of
// the whole text's tokenization, else an Input error names the span.
SpanScores score_spans(Model &model, const std::string &text, const std::vector<std::pair<uint32_t, uint32_t>> &spans);

// Prompt-processing throughput with logits for every token (the efficiency yardstick).
struct Throughput {
    int64_t tokens = 0;
    int64_t decode_calls = 0;
    double ms_decode = 0;
    double ms_logsumexp = 0;
};
// With `output_head`, through the fused output head where the model has one (the engine's own rate).
Throughput measure_throughput(Model &model, int32_t n_tokens, bool all_logits, bool with_logsumexp, bool output_head = false);

}  // namespace labor
