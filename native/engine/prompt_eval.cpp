#include "prompt_eval.h"

#include <algorithm>
#include <string>

#include "errors.h"
#include "timed_decode.h"

namespace labor::detail {

void eval_prefix(Model &m, const Tokens &tokens, const std::vector<int32_t> &need, bool reuse, ScoreStats &st,
                 const std::function<void(const std::vector<std::pair<int32_t, int32_t>> &)> &handler, bool share) {
    const int32_t n = (int32_t)tokens.size();
    if ((uint32_t)n > m.n_ctx())
        fail(ErrorKind::Input, "the prompt has " + std::to_string(n) + " tokens, more than the context size of " +
                                   std::to_string(m.n_ctx()) + " tokens; raise the context size");
    PromptCache &cache = m.prompt_cache();
    int32_t keep = reuse ? cache.common_prefix(tokens) : 0;
    if (!need.empty()) keep = std::min(keep, need.front());
    llama_memory_t mem = memory_of(m);
    if (keep == 0) {
        llama_memory_clear(mem, false);
    } else {
        llama_memory_seq_rm(mem, -1, keep, -1);
    }
    cache.truncate(keep);

    const int32_t nb = (int32_t)m.n_batch();
    Batch batch(nb, 1);
    size_t ni = 0;
    std::vector<std::pair<int32_t, int32_t>> outs;
    for (int32_t start = keep; start < n; start += nb) {
        const int32_t end = std::min(n, start + nb);
        batch.clear();
        outs.clear();
        for (int32_t p = start; p < end; ++p) {
            while (ni < need.size() && need[ni] < p) ++ni;
            const bool want = ni < need.size() && need[ni] == p;
            if (want) outs.emplace_back(p, p - start);
            batch.add(tokens[p], p, 0, 0, want);
        }
        decode_counted(m, batch, st);
        st.prompt_tokens_evaluated += end - start;
        if (!outs.empty()) handler(outs);
    }
    // Every sequence shares the prompt's cells (metadata only in the unified cache).
    if (share)
        for (int32_t s = 1; s < Model::kMaxSeq; ++s) llama_memory_seq_cp(mem, 0, s, cache.shared_len(), -1);
    cache.assign(tokens);
    if (share) cache.share_all();
}

RootRow eval_prompt(Model &m, const Tokens &prompt, bool reuse, ScoreStats &st, bool share) {
    RootRow root;
    const int32_t last = (int32_t)prompt.size() - 1;
    eval_prefix(m, prompt, {last}, reuse, st, [&](const std::vector<std::pair<int32_t, int32_t>> &outs) {
        for (auto &[pos, bi] : outs)
            if (pos == last) {
                m.copy_logits(bi, root.logits);
                std::vector<double> l;
                logsumexp_rows(m, {bi}, l, st);
                root.lse = l[0];
            }
    }, share);
    return root;
}

void eval_next_token_logprobs(Model &m, const Tokens &tokens, const std::vector<int32_t> &need, bool reuse, bool share,
                              ScoreStats &st, const std::function<llama_token(int32_t)> &next,
                              const std::function<void(int32_t, double)> &sink) {
    std::vector<double> lse;
    std::vector<int32_t> idx;
    eval_prefix(m, tokens, need, reuse, st, [&](const std::vector<std::pair<int32_t, int32_t>> &outs) {
        idx.clear();
        for (auto &o : outs) idx.push_back(o.second);
        logsumexp_rows(m, idx, lse, st);
        for (size_t k = 0; k < outs.size(); ++k) {
            const int32_t pos = outs[k].first;
            sink(pos, (double)m.logit(outs[k].second, next(pos)) - lse[k]);
        }
    }, share);
}

}  // namespace labor::detail
