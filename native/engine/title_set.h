// A fixed list of titles for one model, each scored as the continuation " " + title + "\n": its
// tokens after a neutral anchor text and their trie. A prompt whose context tokenizes a title
// otherwise gets its own trie (prepared_prompt.h).
#pragma once
#include <memory>
#include <string>
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

  private:
    std::vector<std::string> titles_;
    std::vector<std::string> continuations_;
    std::vector<Tokens> tokens_;
    std::unique_ptr<TitleTrie> trie_;
};

namespace detail {

// The continuation's tokens as the model tokenizes prompt + continuation (`is_tail`: the prompt is
// a tail of the real one, tokenized without BOS). The prompt's own tokens must be a prefix of that,
// else the title's probability is not a product after the prompt: an Input error names the title.
Tokens in_context_tokens(const Model &m, const std::string &prompt, const Tokens &prompt_tokens, const std::string &cont,
                         const std::string &title, bool is_tail = false);

}  // namespace detail
}  // namespace labor
