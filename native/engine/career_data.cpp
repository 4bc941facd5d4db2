#include "career_data.h"

#include <algorithm>
#include <numeric>
#include <string>

#include "errors.h"

namespace labor::career {

void Dataset::check(const Config &c, const char *what) const {
    const int32_t F = (int32_t)c.covariate_sizes.size();
    auto bad = [&](const std::string &m) { fail(ErrorKind::Input, std::string(what) + ": " + m); };
    if (n_covariates != F) bad("records have " + std::to_string(n_covariates) + " covariates, the model " + std::to_string(F));
    if (offsets.size() < 2 || offsets[0] != 0) bad("there are no workers");
    if ((int64_t)codes.size() != offsets.back() || (int64_t)covs.size() != offsets.back() * F)
        bad("the code and covariate arrays do not match the worker lengths");
    for (size_t i = 0; i + 1 < offsets.size(); ++i) {
        if (offsets[i + 1] <= offsets[i]) bad("worker " + std::to_string(i) + " has no records");
        for (int64_t r = offsets[i]; r < offsets[i + 1]; ++r) {
            if (codes[r] < 0 || codes[r] >= c.n_codes)
                bad("worker " + std::to_string(i) + ", record " + std::to_string(r - offsets[i]) + ": code index " +
                    std::to_string(codes[r]) + " is outside [0, " + std::to_string(c.n_codes) + ")");
            for (int32_t f = 0; f < F; ++f) {
                const int32_t v = covs[(size_t)r * F + f];
                if (v < 0 || v >= c.covariate_sizes[f])
                    bad("worker " + std::to_string(i) + ", record " + std::to_string(r - offsets[i]) + ": " +
                        c.covariate_names[f] + " id " + std::to_string(v) + " is outside [0, " +
                        std::to_string(c.covariate_sizes[f]) + ")");
            }
        }
    }
}

HostBatch make_batch(const Dataset &ds, const std::vector<int64_t> &seqs, int32_t start_token) {
    HostBatch b;
    const int32_t F = ds.n_covariates;
    b.B = (int32_t)seqs.size();
    for (int64_t s : seqs) b.T = std::max(b.T, ds.length((size_t)s));
    const size_t N = (size_t)b.B * b.T;
    b.codes.assign(N, start_token);
    b.covs.assign((size_t)std::max(F, 1) * N, 0);
    for (int32_t j = 0; j < b.B; ++j) {
        const int64_t o = ds.offsets[(size_t)seqs[j]];
        const int32_t len = ds.length((size_t)seqs[j]);
        for (int32_t t = 0; t < len; ++t) {
            const size_t n = (size_t)j * b.T + t;
            if (t > 0) b.codes[n] = ds.codes[(size_t)(o + t - 1)];
            for (int32_t f = 0; f < F; ++f) b.covs[(size_t)f * N + n] = ds.covs[(size_t)(o + t) * F + f];
            b.rows.push_back((int32_t)n);
            b.targets.push_back(ds.codes[(size_t)(o + t)]);
        }
    }
    return b;
}

namespace {
template <typename T>
void shuffle(std::vector<T> &v, Random &rng) {
    for (size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[(size_t)rng.below(i)]);
}
}  // namespace

std::vector<std::vector<int64_t>> plan_batches(const Dataset &ds, int32_t batch, Random *rng) {
    std::vector<int64_t> order(ds.size());
    std::iota(order.begin(), order.end(), 0);
    auto by_length = [&](int64_t a, int64_t b) { return ds.length((size_t)a) < ds.length((size_t)b); };
    std::vector<std::vector<int64_t>> out;
    if (rng) {
        shuffle(order, *rng);
        const size_t window = (size_t)batch * 50;
        for (size_t s = 0; s < order.size(); s += window)
            std::stable_sort(order.begin() + s, order.begin() + std::min(order.size(), s + window), by_length);
    } else {
        std::stable_sort(order.begin(), order.end(), by_length);
    }
    for (size_t s = 0; s < order.size(); s += (size_t)batch)
        out.emplace_back(order.begin() + s, order.begin() + std::min(order.size(), s + (size_t)batch));
    if (rng) shuffle(out, *rng);
    return out;
}

}  // namespace labor::career
