#include "logsumexp.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "simd.h"

namespace labor {

double logsumexp_reference(const float *x, size_t n) {
    double m = -std::numeric_limits<double>::infinity();
    for (size_t i = 0; i < n; ++i) m = std::max(m, (double)x[i]);
    if (!std::isfinite(m)) return m;
    double s = 0;
    for (size_t i = 0; i < n; ++i) s += std::exp((double)x[i] - m);
    return m + std::log(s);
}

double logsumexp(const float *x, size_t n) {
    using namespace simd;
    size_t i = 0;
    v16 vm = neg_inf;
    for (; i + kLanes <= n; i += kLanes) vm = vmax(vm, vload(x + i));
    float m = -std::numeric_limits<float>::infinity();
    for (int q = 0; q < kLanes; ++q) m = std::max(m, vm[q]);
    for (; i < n; ++i) m = std::max(m, x[i]);
    if (!std::isfinite(m)) return m;
    double total = 0;
    i = 0;
    // Sum in float lanes over blocks of 1024, then in double, so rounding stays below 1e-7.
    while (i + kLanes <= n) {
        v16 acc{};
        const size_t end = std::min(n - (n - i) % kLanes, i + 1024);
        for (; i < end; i += kLanes) acc += exp_nonpositive(vload(x + i) - m);
        for (int q = 0; q < kLanes; ++q) total += acc[q];
    }
    for (; i < n; ++i) total += std::exp((double)x[i] - m);
    return (double)m + std::log(total);
}

double log_add(double a, double b) {
    if (a == -INFINITY) return b;
    if (b == -INFINITY) return a;
    const double m = std::max(a, b);
    return m + std::log(std::exp(a - m) + std::exp(b - m));
}

double log_sum(const std::vector<double> &logp) {
    double mx = -INFINITY;
    for (double v : logp) mx = std::max(mx, v);
    if (!std::isfinite(mx)) return mx;
    double s = 0;
    for (double v : logp) s += std::exp(v - mx);
    return mx + std::log(s);
}

}  // namespace labor
