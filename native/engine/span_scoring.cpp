// Teacher-forced span scoring (score_spans in scorer.h): one pass over a whole text, through the
// prompt cache in sequence 0 only, with logits at the positions before each span's tokens; a
// span's log-prob is the sum of its tokens'. Perplexity mode scores a worker's resume this way.
#include <algorithm>
#include <string>

#include "errors.h"
#include "prompt_eval.h"
#include "scorer.h"
#include "timed_decode.h"

namespace labor {

using namespace detail;

SpanScores score_spans(Model &model, const std::string &text, const std::vector<std::pair<uint32_t, uint32_t>> &spans) {
    SpanScores out;
    ScoreStats &st = out.stats;
    HeadScope head(model, true);
    auto t0 = Clock::now();
    const Tokens toks = model.tokenize(text, true);
    st.prompt_tokens = (int64_t)toks.size();
    // Before the span boundaries, each of which tokenizes a prefix again: a text far beyond the context
    // (a 10 MB field) fails now instead of after one whole-text tokenization per boundary.
    if (toks.size() > model.n_ctx())
        fail(ErrorKind::Input, "the text has " + std::to_string(toks.size()) + " tokens, more than the context size of " +
                                   std::to_string(model.n_ctx()) + " tokens; raise the context size");
    // Token index at each span boundary: text[:offset] must tokenize to a prefix of the whole text.
    auto boundary = [&](uint32_t off, size_t span) -> int32_t {
        if (off > text.size()) fail(ErrorKind::Input, "span " + std::to_string(span) + " ends beyond the text");
        Tokens pre = model.tokenize(text.substr(0, off), true);
        if (pre.size() > toks.size() || !std::equal(pre.begin(), pre.end(), toks.begin()))
            fail(ErrorKind::Input, "span " + std::to_string(span) + ": offset " + std::to_string(off) +
                                       " is not a token boundary of the text's tokenization");
        return (int32_t)pre.size();
    };
    std::vector<std::pair<int32_t, int32_t>> tok_spans;
    std::vector<int32_t> need;
    for (size_t i = 0; i < spans.size(); ++i) {
        auto [s, e] = spans[i];
        if (s >= e) fail(ErrorKind::Input, "span " + std::to_string(i) + " is empty or reversed");
        const int32_t a = boundary(s, i), b = boundary(e, i);
        if (a < 1 || b <= a) fail(ErrorKind::Input, "span " + std::to_string(i) + " covers no token after the first");
        tok_spans.emplace_back(a, b);
        for (int32_t p = a - 1; p < b - 1; ++p) need.push_back(p);
    }
    std::sort(need.begin(), need.end());
    need.erase(std::unique(need.begin(), need.end()), need.end());
    st.ms_tokenize = ms_since(t0);
    std::vector<double> tok_logp(toks.size(), 0.0);
    eval_next_token_logprobs(
        model, toks, need, /*reuse=*/true, /*share=*/false, st, [&](int32_t pos) { return toks[pos + 1]; },
        [&](int32_t pos, double logp) { tok_logp[pos + 1] = logp; });
    for (auto [a, b] : tok_spans) {
        double s = 0;
        for (int32_t p = a; p < b; ++p) s += tok_logp[p];
        out.logp.push_back(s);
        out.span_tokens.push_back(b - a);
    }
    return out;
}

}  // namespace labor
