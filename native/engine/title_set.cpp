#include "title_set.h"

#include <algorithm>

#include "errors.h"

namespace labor {
namespace {

// A neutral text before each continuation when the title set is built: the tokens that follow it
// are the title's usual tokens. Every prompt is checked against them (see in_context_tokens).
const char *kAnchor = "Occupation:";

}  // namespace

namespace detail {

Tokens in_context_tokens(const Model &m, const std::string &prompt, const Tokens &prompt_tokens, const std::string &cont,
                         const std::string &title, bool is_tail) {
    Tokens full = m.tokenize(prompt + cont, !is_tail);
    if (full.size() <= prompt_tokens.size() || !std::equal(prompt_tokens.begin(), prompt_tokens.end(), full.begin())) {
        fail(ErrorKind::Input, "the prompt's last token merges with the title \"" + title +
                                   "\" (the prompt's tokens are not a prefix of prompt + title); end the prompt "
                                   "before the space that precedes the title");
    }
    return Tokens(full.begin() + (ptrdiff_t)prompt_tokens.size(), full.end());
}

}  // namespace detail

TitleSet::TitleSet(const Model &model, std::vector<std::string> titles) : titles_(std::move(titles)) {
    if (titles_.empty()) fail(ErrorKind::Input, "the title list is empty");
    const Tokens anchor = model.tokenize(kAnchor, true);
    for (size_t i = 0; i < titles_.size(); ++i) {
        const std::string &t = titles_[i];
        if (t.empty()) fail(ErrorKind::Input, "title " + std::to_string(i) + " is empty");
        if (t.find('\n') != std::string::npos || t.find('\r') != std::string::npos)
            fail(ErrorKind::Input, "title \"" + t + "\" contains a line break");
        continuations_.push_back(" " + t + "\n");
        tokens_.push_back(detail::in_context_tokens(model, kAnchor, anchor, continuations_.back(), t));
    }
    trie_ = std::make_unique<TitleTrie>(tokens_);
    for (const Tokens &t : tokens_) token_count_ += (int64_t)t.size();
}

namespace {
std::string clean_key(const std::string &ctx, bool is_tail) { return (is_tail ? 't' : 'p') + ctx; }
}  // namespace

bool TitleSet::known_clean(const std::string &ctx, bool is_tail) const {
    const std::string key = clean_key(ctx, is_tail);
    std::lock_guard<std::mutex> lock(clean_mu_);
    return clean_.count(key) > 0;
}

void TitleSet::remember_clean(const std::string &ctx, bool is_tail) const {
    std::string key = clean_key(ctx, is_tail);
    std::lock_guard<std::mutex> lock(clean_mu_);
    if (clean_bytes_ + key.size() > kCleanBytes) {
        clean_.clear();
        clean_bytes_ = 0;
    }
    const size_t n = key.size();
    if (clean_.insert(std::move(key)).second) clean_bytes_ += n;
}

}  // namespace labor
