// Bounded mode: a best-first search over the title trie that stops as soon as the top_k titles
// are exact, the total probability on the titles is known within `tolerance` nats and the target
// title (if any) is scored. A title's log-prob is at most its prefix's, and the probability of all
// titles below a node is at most the node's prefix probability: those two bounds are the whole
// stopping rule. Titles never reached get NaN. When the search runs out of sequence ids or KV cells
// it finishes exactly as the full trie (trie_run.h), and says so (ScoreStats::bounded_fallback).
#pragma once
#include "prepared_prompt.h"
#include "scorer.h"

namespace labor::detail {

// Scores pp's titles in bounded mode into `out` (log-probs, the total's interval and the stats).
void score_bounded(Model &m, const TitleSet &set, const PreparedPrompt &pp, const ScoreOptions &opts, TitleScores &out);

}  // namespace labor::detail
