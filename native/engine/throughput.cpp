// The efficiency yardstick (measure_throughput in scorer.h): llama.cpp's batched decode of random
// tokens with logits for every token (or the last of each batch), plus the full-vocabulary
// log-sum-exp per row the engine does, as llama-bench's pp512 measures prompt processing. Leaves
// the KV cache and the prompt cache empty.
#include <random>

#include "errors.h"
#include "scorer.h"
#include "timed_decode.h"

namespace labor {

using namespace detail;

Throughput measure_throughput(Model &model, int32_t n_tokens, bool all_logits, bool with_logsumexp, bool head) {
    if (n_tokens < 1 || (uint32_t)n_tokens > model.n_ctx())
        fail(ErrorKind::Input, "token count must be between 1 and the context size");
    HeadScope head_scope(model, head);
    std::mt19937 rng(1234);
    std::uniform_int_distribution<int32_t> dist(0, model.n_vocab() - 1);
    Tokens toks(n_tokens);
    for (auto &t : toks) t = dist(rng);
    llama_memory_clear(memory_of(model), false);
    model.prompt_cache().clear();
    ScoreStats st;
    const int32_t nb = (int32_t)model.n_batch();
    Batch batch(nb, 1);
    std::vector<double> lse;
    for (int32_t start = 0; start < n_tokens; start += nb) {
        const int32_t end = std::min(n_tokens, start + nb);
        batch.clear();
        std::vector<int32_t> idx;
        for (int32_t p = start; p < end; ++p) {
            const bool want = all_logits || p == end - 1;
            if (want) idx.push_back(p - start);
            batch.add(toks[p], p, 0, 0, want);
        }
        decode_counted(model, batch, st);
        if (with_logsumexp) logsumexp_rows(model, idx, lse, st);
    }
    llama_memory_clear(memory_of(model), false);
    Throughput out;
    out.tokens = st.evaluated_tokens;
    out.decode_calls = st.decode_calls;
    out.ms_decode = st.ms_decode;
    out.ms_logsumexp = st.ms_logsumexp;
    return out;
}

}  // namespace labor
