// 16-float vectors for the vocabulary-wide loops (log-sum-exp, the fused output head), written once
// with GCC/Clang vector extensions: the compiler maps them to one AVX-512 register, two AVX2 ones or
// four SSE/NEON ones, so every CPU build gets the same arithmetic without per-ISA intrinsics.
#pragma once
#include <cmath>
#include <cstdint>
#include <cstring>

namespace labor::simd {

typedef float v16 __attribute__((vector_size(64)));
typedef int32_t i16 __attribute__((vector_size(64)));
constexpr int kLanes = 16;

inline v16 select(i16 mask, v16 a, v16 b) { return (v16)(((i16)a & mask) | ((i16)b & ~mask)); }
inline v16 vmax(v16 a, v16 b) { return select(a > b, a, b); }
inline const v16 neg_inf = v16{} - INFINITY;

inline v16 vload(const float *p) {
    v16 v;
    std::memcpy(&v, p, sizeof v);
    return v;
}

// exp(x) for x <= 0 (arguments are x - max): x = k ln2 + r, |r| <= ln2/2, a degree-6 polynomial
// for exp(r) (relative error ~2e-7, below the float rounding of the sums); x clamped at -87.
inline v16 exp_nonpositive(v16 x) {
    const v16 lo = v16{} - 87.0f;
    x = select(x < lo, lo, x);
    const float magic = 12582912.0f;  // 1.5 * 2^23: adding it rounds to the nearest integer
    const v16 k = (x * 1.44269504088896341f + magic) - magic;
    v16 r = x - k * 0.693359375f;
    r = r - k * -2.12194440e-4f;
    v16 p = v16{} + 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * (r * r) + r + 1.0f;
    const i16 e = (__builtin_convertvector(k, i16) + 127) << 23;
    return p * (v16)e;
}

}  // namespace labor::simd
