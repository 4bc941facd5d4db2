#include "prepared_prompt.h"

#include <algorithm>

#include "errors.h"
#include "timed_decode.h"

namespace labor::detail {

PreparedPrompt prepare_prompt(Model &model, const TitleSet &set, const std::string &prompt, const ScoreOptions &opts, ScoreStats &st) {
    PreparedPrompt pp;
    auto t0 = Clock::now();
    pp.tokens = model.tokenize(prompt, true);
    const Tokens &ptoks = pp.tokens;
    if (ptoks.empty()) fail(ErrorKind::Input, "the prompt is empty");
    const int32_t P = (int32_t)ptoks.size();
    st.prompt_tokens = P;

    if ((uint32_t)P >= model.n_ctx())
        fail(ErrorKind::Input, "the prompt has " + std::to_string(P) + " tokens, more than the context size of " +
                                   std::to_string(model.n_ctx()) + " tokens; raise the context size");
    // The titles' tokens in this prompt's context; a prompt-specific trie only when they differ.
    // Tokenizing prompt + title for every title costs titles x prompt length, so the check runs on
    // the prompt's last line when the prompt's own tokens show that its last newline is a token
    // boundary (then nothing before it can touch the title's tokens).
    std::string ctx_text = prompt;
    Tokens ctx_tokens = ptoks;
    if (!opts.full_boundary_check) {
        const size_t nl = prompt.rfind('\n');
        if (nl != std::string::npos && nl > 0) {
            std::string tail = prompt.substr(nl);  // starts with the newline
            Tokens tail_toks = model.tokenize(tail, false);
            // Skip the tokens that spell the newline (SPM may put a lone space token first).
            size_t k = 0;
            std::string seen;
            while (k < tail_toks.size() && seen.find('\n') == std::string::npos) seen += model.token_piece(tail_toks[k++]);
            const bool clean = seen.size() >= 1 && seen.back() == '\n' && k <= tail_toks.size() &&
                               tail_toks.size() - k <= ptoks.size() &&
                               std::equal(tail_toks.begin() + (ptrdiff_t)k, tail_toks.end(), ptoks.end() - (ptrdiff_t)(tail_toks.size() - k));
            if (clean) {
                ctx_text = tail;
                ctx_tokens = tail_toks;
            }
        }
    }
    std::vector<Tokens> &toks = pp.title_tokens;
    const bool is_tail = ctx_text != prompt;
    bool differs = false;
    if (set.known_clean(ctx_text, is_tail)) {
        // Checked before: every title keeps its own tokens after this context (title_set.h).
        toks = set.tokens();
        st.title_tokens += set.token_count();
    } else {
        toks.resize(set.size());
        for (size_t i = 0; i < set.size(); ++i) {
            toks[i] = in_context_tokens(model, ctx_text, ctx_tokens, set.continuations()[i], set.titles()[i], is_tail);
            if (toks[i] != set.tokens()[i]) {
                differs = true;
                st.retokenized_titles += 1;
            }
            st.title_tokens += (int64_t)toks[i].size();
        }
        if (!differs) set.remember_clean(ctx_text, is_tail);
    }
    if (differs) pp.local = std::make_unique<TitleTrie>(toks);
    pp.trie = differs ? pp.local.get() : &set.trie();
    const TitleTrie &trie = *pp.trie;
    st.trie_nodes = (int64_t)trie.nodes().size() - 1;
    st.internal_nodes = trie.internal_count();
    st.ms_tokenize = ms_since(t0);

    if ((int64_t)P + trie.max_depth() - 1 > (int64_t)model.n_ctx())
        fail(ErrorKind::Input, "the prompt (" + std::to_string(P) + " tokens) and the longest title (" +
                                   std::to_string(trie.max_depth()) + " tokens) do not fit the context of " +
                                   std::to_string(model.n_ctx()) + " tokens; raise the context size");
    return pp;
}

}  // namespace labor::detail
