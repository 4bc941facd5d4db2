#include "baseline_scoring.h"

#include <algorithm>

#include "prompt_eval.h"
#include "timed_decode.h"

namespace labor::detail {

void score_sequential(Model &m, const PreparedPrompt &pp, const ScoreOptions &opts, TitleScores &out) {
    ScoreStats &st = out.stats;
    const int32_t P = pp.size();
    const RootRow root = eval_prompt(m, pp.tokens, opts.reuse_prefix, st);
    Batch batch((int32_t)m.n_batch(), 1);
    std::vector<double> lse;
    for (size_t t = 0; t < pp.title_tokens.size(); ++t) {
        const Tokens &tt = pp.title_tokens[t];
        double lp = (double)root.logits[tt[0]] - root.lse;
        for (size_t start = 0; start + 1 < tt.size(); start += m.n_batch()) {
            const size_t end = std::min(tt.size() - 1, start + m.n_batch());
            batch.clear();
            std::vector<int32_t> idx;
            for (size_t j = start; j < end; ++j) {
                batch.add(tt[j], P + (int32_t)j, 0, 0, true);
                idx.push_back((int32_t)(j - start));
            }
            decode_counted(m, batch, st);
            logsumexp_rows(m, idx, lse, st);
            for (size_t j = start; j < end; ++j) lp += (double)m.logit((int32_t)(j - start), tt[j + 1]) - lse[j - start];
        }
        llama_memory_seq_rm(memory_of(m), -1, P, -1);
        out.logp[t] = lp;
    }
}

void score_reference(Model &m, const PreparedPrompt &pp, TitleScores &out) {
    ScoreStats &st = out.stats;
    const int32_t P = pp.size();
    for (size_t t = 0; t < pp.title_tokens.size(); ++t) {
        const Tokens &tt = pp.title_tokens[t];
        Tokens all = pp.tokens;
        all.insert(all.end(), tt.begin(), tt.end() - 1);
        std::vector<int32_t> need;
        for (int32_t p = P - 1; p < (int32_t)all.size(); ++p) need.push_back(p);
        double lp = 0;
        llama_memory_clear(memory_of(m), false);
        m.prompt_cache().clear();
        eval_next_token_logprobs(
            m, all, need, /*reuse=*/false, /*share=*/true, st, [&](int32_t pos) { return tt[pos - (P - 1)]; },
            [&](int32_t, double logp) { lp += logp; });
        out.logp[t] = lp;
    }
    // The cache holds the last title now, not a shareable prompt.
    llama_memory_clear(memory_of(m), false);
    m.prompt_cache().clear();
    st.prompt_tokens_evaluated = P;  // counted once; evaluated_tokens has the true total
}

}  // namespace labor::detail
