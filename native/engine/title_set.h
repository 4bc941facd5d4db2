// A fixed list of titles for one model, each scored as the continuation " " + title + "\n": its
// tokens after a neutral anchor text and their trie. A prompt whose context tokenizes a title
// otherwise gets its own trie (prepared_prompt.h).
#pragma once
#include <memory>
#include <mutex>
#include <string>
#include <unordered_set>
#include <vector>

#include "model.h"
#include "title_trie.h"

namespace labor {

class TitleSet {
  public:
    TitleSet(const Model &model, std::vector<std::string> titles);
    const std::vector<std::string> &titles() const { return titles_; }
    const std::vector<std::string> &continuations() const { return continuations_; }
    // Token sequences of the continuations after a neutral anchor text; checked per prompt.
    const std::vector<Tokens> &tokens() const { return tokens_; }
    const TitleTrie &trie() const { return *trie_; }
    size_t size() const { return titles_.size(); }
    int64_t token_count() const { return token_count_; }

    // Context texts (a prompt's last line, or a whole prompt) after which every title keeps the tokens
    // above. Checking one tokenizes every title after it, which costs far more than a decode for small
    // models; prompts share their last lines (the same year and education), and tokenizing is
    // deterministic, so a context is checked once. Thread-safe; forgotten wholesale past kCleanBytes.
    bool known_clean(const std::string &ctx, bool is_tail) const;
    void remember_clean(const std::string &ctx, bool is_tail) const;

  private:
    static constexpr size_t kCleanBytes = 16u << 20;

    std::vector<std::string> titles_;
    std::vector<std::string> continuations_;
    std::vector<Tokens> tokens_;
    std::unique_ptr<TitleTrie> trie_;
    int64_t token_count_ = 0;
    mutable std::mutex clean_mu_;
    mutable std::unordered_set<std::string> clean_;  // keys: is_tail flag + context text
    mutable size_t clean_bytes_ = 0;
};

namespace detail {

// The continuation's tokens as the model tokenizes prompt + continuation (`is_tail`: the prompt is
// a tail of the real one, tokenized without BOS). The prompt's own tokens must be a prefix of that,
// else the title's probability is not a product after the prompt: an Input error names the title.
Tokens in_context_tokens(const Model &m, const std::string &prompt, const Tokens &prompt_tokens, const std::string &cont,
                         const std::string &title, bool is_tail = false);

}  // namespace detail
}  // namespace labor
