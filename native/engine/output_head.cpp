#include "output_head.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>

#include "ggml.h"
#include "gguf.h"
#include "simd.h"

#ifdef _OPENMP
#include <omp.h>
#endif

namespace labor {
namespace {

using namespace simd;
constexpr int kRows = 8;    // hidden rows per register tile
constexpr int kPanels = 2;  // panels per register tile: 16 accumulators, 2 loads + 8 broadcasts per step

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

void OutputHead::logsumexp(const std::vector<const float *> &h, double *out, int threads) const {
    const int32_t n = (int32_t)h.size();
    if (n <= 0) return;
    const int32_t d = d_;
    // The rows side by side, padded to whole tiles (zeros), so the tile loop never reads past them.
    const int32_t n_tiles = (n + kRows - 1) / kRows;
    std::vector<float> hp((size_t)n_tiles * kRows * d, 0.0f);
    for (int32_t r = 0; r < n; ++r) std::memcpy(&hp[(size_t)r * d], h[r], (size_t)d * sizeof(float));
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
