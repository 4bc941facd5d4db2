// The prompt cache: which tokens the KV cache holds at positions [0, n), so that the next prompt
// evaluates only what it does not share with the previous one (a worker's successive transitions add
// one line each).
//
// Two facts, and the invariant between them: sequence 0 holds tokens() at positions [0, size());
// every other sequence id holds the leading shared_len() of them (title scoring copies the prompt to
// every sequence, since each trie branch lives in its own; span scoring reads sequence 0 only and
// skips the copies), and shared_len() <= size(). Positions beyond size() hold nothing the next call
// may rely on. The KV cells themselves belong to llama.cpp; whoever changes them tells this class
// in the same step (prompt_eval.cpp, group_scorer.cpp, and Model on a failed decode or new adapters).
#pragma once
#include <cstdint>
#include <vector>

#include "llama.h"

namespace labor {

using Tokens = std::vector<llama_token>;

// Number of leading tokens a and b have in common.
int32_t common_prefix(const Tokens &a, const Tokens &b);

class PromptCache {
  public:
    const Tokens &tokens() const { return tokens_; }
    int32_t size() const { return (int32_t)tokens_.size(); }
    int32_t shared_len() const { return shared_len_; }

    // Leading tokens of `t` the cache holds already.
    int32_t common_prefix(const Tokens &t) const;

    // Every sequence lost its cells from position `keep` on.
    void truncate(int32_t keep);
    // Sequence 0 holds `t` now, an extension of what it kept; the other sequences are unchanged.
    void assign(const Tokens &t);
    // Sequence 0's cells were copied to every other sequence.
    void share_all() { shared_len_ = size(); }
    // Nothing is known to be cached (a cleared KV cache, or cells in an unknown state).
    void clear();

  private:
    Tokens tokens_;
    int32_t shared_len_ = 0;
};

}  // namespace labor
