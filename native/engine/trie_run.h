// Trie runs: every internal node of a title trie evaluated once after a prompt, each a token of
// its own decode row, so that every title's log-prob is the sum of its tokens' conditional
// log-probs read from its ancestors' rows (a title's last token from its parent's row).
//
// The plan (plan_trie) cuts the trie into decodes from its shape alone: whole subtrees per chunk,
// as many as fit max_tokens tokens and max_seqs sequence ids. Each branch end (an internal node
// without internal children) gets its own sequence id, numbered in depth-first order, so every
// node's sequences are the contiguous ids of the branch ends below it and a node sees exactly its
// ancestors; a node's first id is one of its own descendants', never a sibling's (llama.cpp's mask
// reads only the first id). A subtree too big for one chunk is split below its root, which is
// evaluated alone, visible to every sequence, and dropped once its subtree is done.
// The single-prompt run (run_trie) and the grouped one (group_scorer.cpp) execute the same plan.
#pragma once
#include <cstdint>
#include <utility>
#include <vector>

#include "model.h"
#include "prepared_prompt.h"
#include "prompt_eval.h"
#include "scorer.h"

namespace labor::detail {

// One step of a prompt's trie work.
struct TrieStep {
    enum class Kind { Chunk, Solo, Drop } kind = Kind::Chunk;
    std::vector<int32_t> nodes;                     // batch order (depth first)
    std::vector<std::pair<int32_t, int32_t>> seqs;  // per node: [lo, hi] sequence ids (relative)
    int32_t pos = 0;                                // Chunk: its first position; Drop: the position to free
    int32_t ends = 0;                               // Chunk: ids used
};

// The steps that evaluate every internal node below v (v already evaluated), for a prompt of
// n_prompt tokens in a context of n_ctx cells. Throws Input when the titles do not fit the context.
void plan_trie(const TitleTrie &trie, int32_t n_prompt, int32_t v, int32_t max_tokens, int32_t n_ctx, int32_t max_seqs,
               std::vector<TrieStep> &steps);

// Title log-probs from each node's conditional log-prob (the sums along the paths).
void titles_from_conditionals(const TitleTrie &trie, const std::vector<double> &cond, std::vector<double> &title_logp);

// The whole trie after an evaluated prompt of n_prompt tokens whose last row is `root`; leaves the
// KV cache as it found it. `shared_sequence`: the tests' negative control (every node in sequence
// 0, so siblings see each other). Counts evaluated_nodes.
void run_trie(Model &m, const TitleTrie &trie, int32_t n_prompt, const RootRow &root, bool shared_sequence, ScoreStats &st,
              std::vector<double> &title_logp);

// Trie mode: the prompt through the prompt cache, then run_trie.
void score_trie(Model &m, const PreparedPrompt &pp, const ScoreOptions &opts, TitleScores &out);

}  // namespace labor::detail
