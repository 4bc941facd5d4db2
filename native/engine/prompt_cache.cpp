#include "prompt_cache.h"

#include <algorithm>

namespace labor {

int32_t common_prefix(const Tokens &a, const Tokens &b) {
    const size_t n = std::min(a.size(), b.size());
    size_t k = 0;
    while (k < n && a[k] == b[k]) ++k;
    return (int32_t)k;
}

int32_t PromptCache::common_prefix(const Tokens &t) const { return labor::common_prefix(tokens_, t); }

void PromptCache::truncate(int32_t keep) {
    if (keep < size()) tokens_.resize((size_t)std::max(keep, 0));
    shared_len_ = std::min(shared_len_, size());
}

void PromptCache::assign(const Tokens &t) {
    tokens_ = t;
    shared_len_ = std::min(shared_len_, size());
}

void PromptCache::clear() {
    tokens_.clear();
    shared_len_ = 0;
}

}  // namespace labor
