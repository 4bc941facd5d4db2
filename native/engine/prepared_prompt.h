// A prompt ready for title scoring: its tokens, the titles' tokens in its context and the trie to
// use (the title set's own, or a prompt-specific one when some title tokenizes differently after
// this prompt), with the checks that the prompt and the longest title fit the context.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "model.h"
#include "scorer.h"

namespace labor::detail {

struct PreparedPrompt {
    Tokens tokens;
    std::vector<Tokens> title_tokens;  // in the title order
    std::unique_ptr<TitleTrie> local;
    const TitleTrie *trie = nullptr;
    int32_t size() const { return (int32_t)tokens.size(); }
};

// Counts prompt_tokens, title_tokens, retokenized_titles, trie_nodes, internal_nodes, ms_tokenize.
PreparedPrompt prepare_prompt(Model &model, const TitleSet &set, const std::string &prompt, const ScoreOptions &opts, ScoreStats &st);

}  // namespace labor::detail
