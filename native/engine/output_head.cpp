#include "output_head.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>

#include "ggml.h"
#include "gguf.h"

#ifdef _OPENMP
#include <omp.h>
#endif

namespace labor {
namespace {

// 16 floats: one AVX-512 register, two AVX2 ones, four SSE/NEON ones; the compiler splits it.
typedef float v16 __attribute__((vector_size(64)));
typedef int32_t i16 __attribute__((vector_size(64)));
constexpr int kLanes = 16;
constexpr int kRows = 8;    // hidden rows per register tile
constexpr int kPanels = 2;  // panels per register tile: 16 accumulators, 2 loads + 8 broadcasts per step

inline v16 select(i16 mask, v16 a, v16 b) { return (v16)(((i16)a & mask) | ((i16)b & ~mask)); }
inline v16 vmax(v16 a, v16 b) { return select(a > b, a, b); }
const v16 neg_inf = v16{} - INFINITY;

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

std::string tensor_type_name(ggml_type t) {
    const char *n = ggml_type_name(t);
    return n ? n : "unknown";
}

}  // namespace

std::unique_ptr<OutputHead> OutputHead::load(const std::string &path, int32_t n_embd, int32_t n_vocab, std::string &why_not) {
    ggml_context *meta = nullptr;
    gguf_init_params params{};
    params.no_alloc = true;
    params.ctx = &meta;
    gguf_context *g = gguf_init_from_file(path.c_str(), params);
    if (!g) {
        why_not = "cannot read the GGUF file's tensor table";
        return nullptr;
    }
    struct Free {
        gguf_context *g;
        ggml_context *m;
        ~Free() {
            gguf_free(g);
            if (m) ggml_free(m);
        }
    } guard{g, meta};

    const char *name = "output.weight";
    int64_t id = gguf_find_tensor(g, name);
    if (id < 0) {
        name = "token_embd.weight";  // tied embeddings: llama.cpp uses the input matrix as output
        id = gguf_find_tensor(g, name);
    }
    if (id < 0) {
        why_not = "the file has neither output.weight nor token_embd.weight";
        return nullptr;
    }
    ggml_tensor *t = meta ? ggml_get_tensor(meta, name) : nullptr;
    if (!t || t->ne[0] != n_embd || t->ne[1] != n_vocab || t->ne[2] != 1 || t->ne[3] != 1) {
        why_not = std::string(name) + " is not an n_embd x n_vocab matrix";
        return nullptr;
    }
    const ggml_type type = gguf_get_tensor_type(g, id);
    if (type != GGML_TYPE_F32 && type != GGML_TYPE_F16) {
        why_not = std::string(name) + " is " + tensor_type_name(type) + " (the fused head covers f32 and f16)";
        return nullptr;
    }
    const size_t nbytes = gguf_get_tensor_size(g, id);
    const size_t offset = gguf_get_data_offset(g) + gguf_get_tensor_offset(g, id);
    const size_t n = (size_t)n_embd * (size_t)n_vocab;
    if (nbytes != n * (type == GGML_TYPE_F32 ? 4 : 2)) {
        why_not = std::string(name) + " has an unexpected size";
        return nullptr;
    }

    std::vector<float> w(n);
    {
        FILE *f = std::fopen(path.c_str(), "rb");
        if (!f) {
            why_not = "cannot open " + path;
            return nullptr;
        }
        bool ok = fseeko(f, (off_t)offset, SEEK_SET) == 0;
        if (ok && type == GGML_TYPE_F32) {
            ok = std::fread(w.data(), 1, nbytes, f) == nbytes;
        } else if (ok) {
            std::vector<ggml_fp16_t> h(n);
            ok = std::fread(h.data(), 1, nbytes, f) == nbytes;
            if (ok) ggml_fp16_to_fp32_row(h.data(), w.data(), (int64_t)n);
        }
        std::fclose(f);
        if (!ok) {
            why_not = "cannot read " + std::string(name) + " from " + path;
            return nullptr;
        }
    }

    std::unique_ptr<OutputHead> head(new OutputHead(n_embd, n_vocab));
    head->f16_weights_ = type == GGML_TYPE_F16;
    // Whole register tiles of panels: the padding columns are zero and never summed.
    head->n_panels_ = (n_vocab + kLanes - 1) / kLanes;
    head->tail_lanes_ = n_vocab % kLanes;
    for (int j = 0; j < kLanes; ++j) head->tail_valid_[j] = j < head->tail_lanes_ ? -1 : 0;
    const int32_t padded = (head->n_panels_ + kPanels - 1) / kPanels * kPanels;
    head->panels_.assign((size_t)padded * (size_t)n_embd * kLanes, 0.0f);
    for (int32_t v = 0; v < n_vocab; ++v) {
        float *panel = &head->panels_[(size_t)(v / kLanes) * (size_t)n_embd * kLanes];
        const float *row = &w[(size_t)v * (size_t)n_embd];
        for (int32_t k = 0; k < n_embd; ++k) panel[(size_t)k * kLanes + (v % kLanes)] = row[k];
    }
    return head;
}

float OutputHead::logit(const float *h, int32_t token) const {
    const float *panel = &panels_[(size_t)(token / kLanes) * (size_t)d_ * kLanes + (token % kLanes)];
    float s = 0;
    for (int32_t k = 0; k < d_; ++k) s = std::fma(h[k], panel[(size_t)k * kLanes], s);
    return s;
}

void OutputHead::logits(const float *h, float *out) const {
    // 16 logits a panel, each summed over k in the same order as logit() and the kernel.
    for (int32_t p = 0; p < n_panels_; ++p) {
        const float *w = &panels_[(size_t)p * d_ * kLanes];
        v16 acc{};
        for (int32_t k = 0; k < d_; ++k) acc += h[k] * vload(w + (size_t)k * kLanes);
        const int32_t base = p * kLanes;
        for (int j = 0; j < kLanes && base + j < V_; ++j) out[base + j] = acc[j];
    }
}

void OutputHead::logsumexp(const float *h, int32_t n, double *out, int threads) const {
    if (n <= 0) return;
    const int32_t d = d_;
    // Rows padded to whole tiles (zeros), so the tile loop never reads past the input.
    const int32_t n_tiles = (n + kRows - 1) / kRows;
    std::vector<float> hp((size_t)n_tiles * kRows * d, 0.0f);
    std::memcpy(hp.data(), h, (size_t)n * d * sizeof(float));
    // A block of panels (~256 KiB of weights) stays in cache while every row tile passes over it;
    // threads take blocks in turn and keep their own running (max, sum) per row.
    const int32_t per_block = std::max<int32_t>(kPanels, (4096 / std::max<int32_t>(d, 1)) / kPanels * kPanels);
    const int32_t n_blocks = (n_panels_ + per_block - 1) / per_block;
    const int T = std::max(1, std::min<int>(threads, n_blocks));
    std::vector<double> M((size_t)T * n, -INFINITY), S((size_t)T * n, 0.0);
    i16 tail_mask;
    std::memcpy(&tail_mask, tail_valid_, sizeof tail_mask);

#pragma omp parallel num_threads(T)
    {
#ifdef _OPENMP
        const int t = omp_get_thread_num();
#else
        const int t = 0;
#endif
        std::vector<float> buf((size_t)kRows * per_block * kLanes);
        for (int32_t b = t; b < n_blocks; b += T) {
            const int32_t p0 = b * per_block;
            const int32_t p1 = std::min(n_panels_, p0 + per_block);
            for (int32_t tile = 0; tile < n_tiles; ++tile) {
                const float *ht = &hp[(size_t)tile * kRows * d];
                // The block's running maximum per row, in registers, so the exp pass needs no max pass.
                v16 mx[kRows];
                for (int i = 0; i < kRows; ++i) mx[i] = neg_inf;
                for (int32_t p = p0; p < p1; p += kPanels) {
                    v16 acc[kPanels][kRows] = {};
                    const float *w = &panels_[(size_t)p * d * kLanes];
                    for (int32_t k = 0; k < d; ++k) {
#pragma GCC unroll 2
                        for (int q = 0; q < kPanels; ++q) {
                            const v16 wv = vload(w + ((size_t)q * d + k) * kLanes);
#pragma GCC unroll 8
                            for (int i = 0; i < kRows; ++i) acc[q][i] += ht[i * d + k] * wv;
                        }
                    }
                    for (int q = 0; q < kPanels; ++q) {
                        if (p + q >= p1) break;
                        // Lanes past the vocabulary (zero weights) become -inf: no part of max or sum.
                        const bool tail = p + q == n_panels_ - 1 && tail_lanes_ != 0;
                        for (int i = 0; i < kRows; ++i) {
                            v16 x = acc[q][i];
                            if (tail) x = select(tail_mask, x, neg_inf);
                            mx[i] = vmax(mx[i], x);
                            std::memcpy(&buf[((size_t)i * per_block + (p + q - p0)) * kLanes], &x, sizeof(v16));
                        }
                    }
                }
                const int32_t rows = std::min(kRows, n - tile * kRows);
                const int32_t vecs = p1 - p0;
                for (int32_t i = 0; i < rows; ++i) {
                    float m = mx[i][0];
                    for (int q = 1; q < kLanes; ++q) m = mx[i][q] > m || mx[i][q] != mx[i][q] ? mx[i][q] : m;
                    double &Mo = M[(size_t)t * n + tile * kRows + i];
                    double &So = S[(size_t)t * n + tile * kRows + i];
                    if (std::isnan(Mo)) continue;
                    if (!std::isfinite(m)) {
                        // An infinite or NaN logit: the row's normaliser is that value (as the plain path gives).
                        if (std::isnan(m) || m > Mo) Mo = m;
                        continue;
                    }
                    const float *x = &buf[(size_t)i * per_block * kLanes];
                    v16 sv{};
                    for (int32_t j = 0; j < vecs; ++j) sv += exp_nonpositive(vload(x + (size_t)j * kLanes) - m);
                    double sum = 0;
                    for (int q = 0; q < kLanes; ++q) sum += sv[q];
                    if (m > Mo) {
                        So = So * std::exp(Mo - m) + sum;
                        Mo = m;
                    } else {
                        So += sum * std::exp((double)m - Mo);
                    }
                }
            }
        }
    }
    for (int32_t r = 0; r < n; ++r) {
        double m = -INFINITY;
        for (int t = 0; t < T; ++t) {
            const double v = M[(size_t)t * n + r];
            if (std::isnan(v) || v > m) m = v;
            if (std::isnan(m)) break;
        }
        if (!std::isfinite(m)) {
            out[r] = m;
            continue;
        }
        double s = 0;
        for (int t = 0; t < T; ++t) s += S[(size_t)t * n + r] * std::exp(M[(size_t)t * n + r] - m);
        out[r] = m + std::log(s);
    }
}

}  // namespace labor
