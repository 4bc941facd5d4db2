// Pieces of the scorer shared by the single-prompt modes (scorer.cpp) and the grouped trie mode
// (group_scorer.cpp). Not part of the engine's surface.
#pragma once
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "scorer.h"

namespace labor::detail {

using Clock = std::chrono::steady_clock;
double ms_since(Clock::time_point t);

llama_memory_t memory_of(Model &m);

// log of the sum of exp over the titles' log-probs.
double finish_log_total(const std::vector<double> &logp);

// log-sum-exp of several output rows of the last decode at once, spread over the model's threads.
void logsumexp_rows(Model &m, const std::vector<int32_t> &batch_indices, std::vector<double> &out, ScoreStats &st);

// Makes the KV cache hold `tokens` at positions [0, n) (in every sequence with `share`), evaluating
// only what is not cached already; positions in `need` get logits, handed to `handler`.
void eval_prefix(Model &m, const Tokens &tokens, const std::vector<int32_t> &need, bool reuse, ScoreStats &st,
                 const std::function<void(const std::vector<std::pair<int32_t, int32_t>> &)> &handler, bool share = true);

Tokens in_context_tokens(const Model &m, const std::string &prompt, const Tokens &prompt_tokens, const std::string &cont,
                         const std::string &title, bool is_tail = false);

// A prompt's tokens and the titles' tokens in its context, with the trie to use: the title set's own,
// or a prompt-specific one when some title tokenizes differently after this prompt.
struct PreparedPrompt {
    Tokens tokens;
    std::vector<Tokens> title_tokens;
    std::unique_ptr<TitleTrie> local;
    const TitleTrie *trie = nullptr;
};
PreparedPrompt prepare_prompt(Model &model, const TitleSet &set, const std::string &prompt, const ScoreOptions &opts, ScoreStats &st);

}  // namespace labor::detail
