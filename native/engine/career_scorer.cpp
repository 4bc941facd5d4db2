#include "career_scorer.h"

#include <functional>

#include "errors.h"

namespace labor::career {

Scorer::Scorer(const std::string &path, int threads) : meta_(), weights_(load(path, &meta_)), runner_(threads) {}

void Scorer::log_probs(const Dataset &ds, int32_t batch, std::vector<float> &out, const std::function<bool()> &stop) {
    std::lock_guard<std::mutex> lock(mu_);
    const Config &c = weights_->config();
    ds.check(c, "scoring data");
    if (batch < 1) fail(ErrorKind::Input, "the scoring batch must be at least 1 worker");
    const int32_t K = c.n_codes;
    out.assign((size_t)ds.records() * K, 0.0f);
    std::vector<float> logits;
    for (const auto &seqs : plan_batches(ds, batch, nullptr)) {
        if (stop && stop()) fail(ErrorKind::Cancelled, "the operation was cancelled");
        const HostBatch b = make_batch(ds, seqs, c.start_token());
        runner_.logits(*weights_, b, logits);
        // rows come sequence by sequence, record by record: put them back at the records' places
        size_t r = 0;
        for (int64_t s : seqs) {
            const int64_t o = ds.offsets[(size_t)s];
            for (int32_t t = 0; t < ds.length((size_t)s); ++t, ++r) {
                const float *row = logits.data() + r * K;
                const double lse = logsumexp(row, K);
                float *dst = out.data() + (size_t)(o + t) * K;
                for (int32_t j = 0; j < K; ++j) dst[j] = (float)((double)row[j] - lse);
            }
        }
    }
}

}  // namespace labor::career
