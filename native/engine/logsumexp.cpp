#include "logsumexp.h"

#include <cmath>
#include <limits>

#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#define LABOR_AVX2 1
#endif

namespace labor {

double logsumexp_reference(const float *x, size_t n) {
    double m = -std::numeric_limits<double>::infinity();
    for (size_t i = 0; i < n; ++i) m = std::max(m, (double)x[i]);
    if (!std::isfinite(m)) return m;
    double s = 0;
    for (size_t i = 0; i < n; ++i) s += std::exp((double)x[i] - m);
    return m + std::log(s);
}

#ifdef LABOR_AVX2
namespace {
// exp(x) for x <= 0 (arguments are x - max): range reduction x = k ln2 + r, |r| <= ln2/2,
// then a degree-6 polynomial for exp(r) (relative error ~2e-7, below float rounding of the sum).
inline __m256 exp256(__m256 x) {
    const __m256 lo = _mm256_set1_ps(-87.0f);
    x = _mm256_max_ps(x, lo);
    const __m256 log2e = _mm256_set1_ps(1.44269504088896341f);
    const __m256 ln2_hi = _mm256_set1_ps(0.693359375f);
    const __m256 ln2_lo = _mm256_set1_ps(-2.12194440e-4f);
    __m256 k = _mm256_round_ps(_mm256_mul_ps(x, log2e), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(k, ln2_hi, x);
    r = _mm256_fnmadd_ps(k, ln2_lo, r);
    __m256 p = _mm256_set1_ps(1.9875691500e-4f);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
    __m256 r2 = _mm256_mul_ps(r, r);
    p = _mm256_fmadd_ps(p, r2, r);
    p = _mm256_add_ps(p, _mm256_set1_ps(1.0f));
    __m256i ki = _mm256_cvtps_epi32(k);
    __m256i pow2 = _mm256_slli_epi32(_mm256_add_epi32(ki, _mm256_set1_epi32(127)), 23);
    return _mm256_mul_ps(p, _mm256_castsi256_ps(pow2));
}

inline float hmax(__m256 v) {
    __m128 a = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    a = _mm_max_ps(a, _mm_movehl_ps(a, a));
    a = _mm_max_ss(a, _mm_shuffle_ps(a, a, 1));
    return _mm_cvtss_f32(a);
}

inline double hsum(__m256 v) {
    alignas(32) float t[8];
    _mm256_store_ps(t, v);
    double s = 0;
    for (float f : t) s += f;
    return s;
}
}  // namespace

double logsumexp(const float *x, size_t n) {
    size_t i = 0;
    __m256 vm = _mm256_set1_ps(-std::numeric_limits<float>::infinity());
    for (; i + 8 <= n; i += 8) vm = _mm256_max_ps(vm, _mm256_loadu_ps(x + i));
    float m = hmax(vm);
    for (; i < n; ++i) m = std::max(m, x[i]);
    if (!std::isfinite(m)) return m;
    const __m256 mm = _mm256_set1_ps(m);
    double total = 0;
    i = 0;
    // Sum in float lanes over blocks of 1024, then in double, so rounding stays below 1e-7.
    while (i + 8 <= n) {
        __m256 acc = _mm256_setzero_ps();
        size_t end = std::min(n - (n - i) % 8, i + 1024);
        for (; i < end; i += 8) acc = _mm256_add_ps(acc, exp256(_mm256_sub_ps(_mm256_loadu_ps(x + i), mm)));
        total += hsum(acc);
    }
    for (; i < n; ++i) total += std::exp((double)x[i] - m);
    return (double)m + std::log(total);
}
#else
double logsumexp(const float *x, size_t n) {
    float m = -std::numeric_limits<float>::infinity();
    for (size_t i = 0; i < n; ++i) m = std::max(m, x[i]);
    if (!std::isfinite(m)) return m;
    double total = 0;
    size_t i = 0;
    while (i < n) {
        float acc = 0;
        size_t end = std::min(n, i + 1024);
        for (; i < end; ++i) acc += std::exp(x[i] - m);
        total += acc;
    }
    return (double)m + std::log(total);
}
#endif

}  // namespace labor
