// Evaluating a prompt (or a whole text) through the prompt cache: only the tokens the cache does
// not hold are decoded, in batches of n_batch, and the cache is told what the KV cells hold after.
#pragma once
#include <functional>
#include <utility>
#include <vector>

#include "model.h"
#include "scorer.h"

namespace labor::detail {

// Makes the KV cache hold `tokens` at positions [0, n) in sequence 0 (and with `share` in every
// sequence: title scoring; span scoring reads sequence 0 only and skips the 255 copies),
// evaluating only what is not cached already (with `reuse`). Positions listed in `need`
// (ascending) get logits; after each decode the handler receives (position, batch index) pairs for
// them. Counts prompt_tokens_evaluated.
void eval_prefix(Model &m, const Tokens &tokens, const std::vector<int32_t> &need, bool reuse, ScoreStats &st,
                 const std::function<void(const std::vector<std::pair<int32_t, int32_t>> &)> &handler, bool share = true);

// The prompt's last row: the logits (and their log-sum-exp) that score every title's first token.
struct RootRow {
    std::vector<float> logits;
    double lse = 0;
};
// eval_prefix of a prompt with logits for its last position only (`share` as in eval_prefix).
RootRow eval_prompt(Model &m, const Tokens &prompt, bool reuse, ScoreStats &st, bool share = true);

// eval_prefix, then for each position p of `need`: `sink(p, log P(next(p) | tokens[0..p]))`.
void eval_next_token_logprobs(Model &m, const Tokens &tokens, const std::vector<int32_t> &need, bool reuse, bool share,
                              ScoreStats &st, const std::function<llama_token(int32_t)> &next,
                              const std::function<void(int32_t, double)> &sink);

}  // namespace labor::detail
