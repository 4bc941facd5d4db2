// Trie scoring of several prompts whose tries share each llama_decode ("cross-transition
// batching"). A group of G prompts splits the 256 sequence ids into G ranges and each decode into G
// slices of n_batch / G tokens; prompt j lives in the first id of its range (its home), its trie
// nodes in the range's ids, planned by the single-prompt run's own plan_trie (trie_run.h: whole
// subtrees per chunk, branch ends numbered depth first, subtrees too big for a slice split below a
// root evaluated once).
//
// Prompts are evaluated only where they differ from the previous prompt of the group: prompt j's
// home first gets a copy of prompt j-1's cells for their common prefix, so a worker's successive
// transitions each add only their new line. That copy needs prompt j-1 complete, so the group runs
// as a pipeline: decode d holds prompt d's new tokens and the trie chunks of the prompts before it.
//
// The payoff is on GPUs, where a decode of a few new-line tokens costs nearly as much as a full
// one; on CPUs every token costs the same and the setting measures as a wash (see BENCHMARKS.md).
#include <algorithm>
#include <cmath>
#include <functional>

#include "errors.h"
#include "logsumexp.h"
#include "prepared_prompt.h"
#include "scorer.h"
#include "timed_decode.h"
#include "trie_run.h"

namespace labor {
namespace {
using namespace detail;

struct PromptRun {
    PreparedPrompt pp;
    ScoreStats *st = nullptr;
    int32_t P = 0;
    int32_t base = 0;     // first sequence id of the range (the home)
    int32_t shared = 0;   // tokens taken from the previous prompt (or the cache)
    int32_t next_tok = 0; // next prompt position to evaluate
    bool ready = false;   // its common prefix is in its home
    bool rooted = false;  // the prompt is evaluated and the root's children scored
    size_t next_item = 0;
    std::vector<TrieStep> items;
    std::vector<double> cond;
};

void run_group(Model &model, const TitleSet &set, const std::string *prompts, size_t g, int32_t G, const ScoreOptions &opts,
               std::vector<TitleScores> &out) {
    const size_t first = out.size();
    out.resize(first + g);
    const int32_t S = Model::kMaxSeq / G;
    const int32_t budget = (int32_t)model.n_batch() / G;
    std::vector<PromptRun> runs(g);
    for (size_t j = 0; j < g; ++j) {
        PromptRun &r = runs[j];
        r.st = &out[first + j].stats;
        r.pp = prepare_prompt(model, set, prompts[j], opts, *r.st);
        r.P = (int32_t)r.pp.tokens.size();
        r.base = (int32_t)j * S;
        r.cond.assign(r.pp.trie->nodes().size(), 0.0);
    }

    // What the cache already holds for the first prompt (sequence 0 holds the cached prompt); the
    // last prompt token is evaluated again in any case, for its logits.
    PromptCache &cache = model.prompt_cache();
    runs[0].shared = std::min(opts.reuse_prefix ? cache.common_prefix(runs[0].pp.tokens) : 0, runs[0].P - 1);
    for (size_t j = 1; j < g; ++j) runs[j].shared = std::min(common_prefix(runs[j].pp.tokens, runs[j - 1].pp.tokens), runs[j].P - 1);

    // Cells needed at once: each prompt's own tokens, one slice of chunk cells per prompt, and the
    // roots of split subtrees. A group that does not fit is scored prompt by prompt.
    int64_t cells = runs[0].P, depth = 0;
    for (size_t j = 1; j < g; ++j) cells += runs[j].P - runs[j].shared;
    for (auto &r : runs) depth = std::max<int64_t>(depth, r.pp.trie->max_depth());
    cells += (int64_t)model.n_batch() + (int64_t)g * depth;
    if (cells > (int64_t)model.n_ctx() || budget < 1 || S < 2) {
        out.resize(first);
        for (size_t j = 0; j < g; ++j) out.push_back(score_titles(model, set, prompts[j], opts));
        return;
    }
    for (auto &r : runs) {
        plan_trie(*r.pp.trie, r.P, 0, budget, (int32_t)model.n_ctx(), S, r.items);
        r.next_tok = r.shared;
    }

    llama_memory_t mem = memory_of(model);
    try {
        // Sequence 0 keeps the first prompt's shared prefix; every other id starts empty.
        if (runs[0].shared == 0) {
            llama_memory_clear(mem, false);
        } else {
            llama_memory_seq_rm(mem, -1, runs[0].shared, -1);
            llama_memory_seq_keep(mem, 0);
        }
        cache.clear();  // until the group is done
        runs[0].ready = true;

        Batch batch((int32_t)model.n_batch(), S);
        struct Slot {
            size_t run;
            int32_t kind;  // 0: prompt tokens, 1: trie item
            int32_t first_index;
            int32_t count;
            const TrieStep *item;
            bool completes_prompt;
        };
        std::vector<Slot> slots;
        std::vector<double> lse;
        std::vector<int32_t> rows;
        for (;;) {
            batch.clear();
            slots.clear();
            for (size_t j = 0; j < g; ++j) {
                PromptRun &r = runs[j];
                if (!r.ready) continue;
                if (!r.rooted) {
                    // The prompt's next tokens, logits for its last one only.
                    const int32_t end = std::min(r.P, r.next_tok + budget);
                    Slot s{j, 0, batch.size(), end - r.next_tok, nullptr, end == r.P};
                    for (int32_t p = r.next_tok; p < end; ++p) batch.add(r.pp.tokens[p], p, r.base, r.base, p == r.P - 1);
                    r.st->prompt_tokens_evaluated += end - r.next_tok;
                    r.next_tok = end;
                    slots.push_back(s);
                    continue;
                }
                // Drops free a split subtree's root once its subtree is done: no decode needed.
                while (r.next_item < r.items.size() && r.items[r.next_item].kind == TrieStep::Kind::Drop) {
                    for (int32_t s = r.base; s < r.base + S; ++s) llama_memory_seq_rm(mem, s, r.items[r.next_item].pos, -1);
                    ++r.next_item;
                }
                if (r.next_item == r.items.size()) continue;
                const TrieStep &it = r.items[r.next_item++];
                const TitleTrie &trie = *r.pp.trie;
                slots.push_back(Slot{j, 1, batch.size(), (int32_t)it.nodes.size(), &it, false});
                for (size_t k = 0; k < it.nodes.size(); ++k) {
                    const TitleTrie::Node &nn = trie.node(it.nodes[k]);
                    batch.add(nn.token, r.P + nn.depth - 1, r.base + it.seqs[k].first, r.base + it.seqs[k].second, true);
                }
            }
            if (slots.empty()) break;

            const double ms = decode_timed(model, batch);
            // Output rows in batch order: the prompt slots' last tokens and every trie node.
            rows.clear();
            for (const Slot &s : slots) {
                if (s.kind == 0) {
                    if (s.completes_prompt) rows.push_back(s.first_index + s.count - 1);
                } else {
                    for (int32_t k = 0; k < s.count; ++k) rows.push_back(s.first_index + k);
                }
            }
            ScoreStats lse_st;
            if (!rows.empty()) logsumexp_rows(model, rows, lse, lse_st);
            // Rows are read by batch index.
            size_t row = 0;
            for (const Slot &s : slots) {
                PromptRun &r = runs[s.run];
                const double share = (double)s.count / (double)batch.size();
                r.st->ms_decode += ms * share;
                r.st->ms_logsumexp += lse_st.ms_logsumexp * share;
                if (lse_st.head_rows > 0) r.st->head_rows += s.kind == 0 ? (s.completes_prompt ? 1 : 0) : s.count;
                // A shared decode is counted once, on its first prompt, so that counts add up.
                if (&s == &slots.front()) r.st->decode_calls += 1;
                r.st->evaluated_tokens += s.count;
                const TitleTrie &trie = *r.pp.trie;
                if (s.kind == 0) {
                    if (!s.completes_prompt) continue;
                    for (int32_t c : trie.node(0).children) r.cond[c] = (double)model.logit(rows[row], trie.node(c).token) - lse[row];
                    ++row;
                    // Every id of the range sees the prompt; the next prompt can copy it now.
                    for (int32_t q = r.base + 1; q < r.base + S; ++q) llama_memory_seq_cp(mem, r.base, q, 0, r.P);
                    r.rooted = true;
                    if (s.run + 1 < g) {
                        PromptRun &nx = runs[s.run + 1];
                        if (nx.shared > 0) llama_memory_seq_cp(mem, r.base, nx.base, 0, nx.shared);
                        nx.ready = true;
                    }
                    continue;
                }
                for (int32_t k = 0; k < s.count; ++k, ++row) {
                    for (int32_t c : trie.node(s.item->nodes[k]).children) r.cond[c] = (double)model.logit(rows[row], trie.node(c).token) - lse[row];
                }
                if (s.item->kind == TrieStep::Kind::Chunk) {
                    for (int32_t q = r.base; q < r.base + s.item->ends; ++q) llama_memory_seq_rm(mem, q, s.item->pos, -1);
                }
            }
        }

        // The last prompt becomes the cached prompt, in sequence 0 alone.
        const PromptRun &last = runs[g - 1];
        if (last.base != 0) {
            llama_memory_seq_rm(mem, 0, -1, -1);
            llama_memory_seq_cp(mem, last.base, 0, 0, last.P);
        }
        llama_memory_seq_rm(mem, -1, last.P, -1);
        llama_memory_seq_keep(mem, 0);
        cache.assign(last.pp.tokens);
    } catch (...) {
        llama_memory_clear(mem, false);
        cache.clear();
        throw;
    }

    for (size_t j = 0; j < g; ++j) {
        PromptRun &r = runs[j];
        TitleScores &o = out[first + j];
        const TitleTrie &trie = *r.pp.trie;
        o.logp.assign(set.size(), 0.0);
        titles_from_conditionals(trie, r.cond, o.logp);
        o.log_total = log_sum(o.logp);
        o.log_total_upper = o.log_total;
        r.st->evaluated_nodes = trie.internal_count();
        r.st->resolved_titles = (int64_t)set.size();
    }
}

}  // namespace

std::vector<TitleScores> score_titles_group(Model &model, const TitleSet &set, const std::vector<std::string> &prompts,
                                            const ScoreOptions &opts) {
    std::vector<TitleScores> out;
    out.reserve(prompts.size());
    const int32_t G = std::max<int32_t>(1, std::min<int32_t>(opts.cross_batch, 16));
    if (G == 1 || opts.mode != ScoreMode::Trie || opts.unsafe_shared_sequence) {
        for (const auto &p : prompts) out.push_back(score_titles(model, set, p, opts));
        return out;
    }
    HeadScope head(model, opts.output_head);
    for (size_t i = 0; i < prompts.size(); i += (size_t)G) {
        const size_t g = std::min<size_t>((size_t)G, prompts.size() - i);
        run_group(model, set, prompts.data() + i, g, G, opts, out);
    }
    return out;
}

}  // namespace labor
