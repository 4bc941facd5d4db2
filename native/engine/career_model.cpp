#include "career_model.h"

#include <cmath>
#include <cstring>

#include "career_random.h"
#include "errors.h"
#include "ggml-alloc.h"
#include "ggml-cpu.h"

namespace labor::career {

void Config::validate() const {
    auto bad = [](const std::string &m) { fail(ErrorKind::Input, m); };
    options::check_ranges(*this);
    if (width % heads != 0) bad("heads (" + std::to_string(heads) + ") must divide width (" + std::to_string(width) + ")");
    if (width % 2 != 0) bad("width must be even (sinusoidal positions), got " + std::to_string(width));
    if (covariate_names.size() != covariate_sizes.size()) bad("covariateNames and covariateSizes differ in number");
    for (size_t f = 0; f < covariate_sizes.size(); ++f)
        if (covariate_sizes[f] < 1) bad("covariate " + covariate_names[f] + " has no values");
}

int64_t Config::n_params() const {
    const int64_t d = width;
    int64_t n = d * (n_codes + 1);
    for (int32_t v : covariate_sizes) n += d * v;
    n += (int64_t)layers * (4 * d * d + 4 * d + 2 * d * ff + ff + d + 4 * d);
    n += 2 * d + n_codes;
    return n;
}

Weights::Weights(Config config) : config_(std::move(config)) {
    config_.validate();
    const size_t n_tensors = 2 + config_.covariate_sizes.size() + 16 * (size_t)config_.layers + 4;
    ggml_init_params p{};
    p.mem_size = (n_tensors + 8) * ggml_tensor_overhead();
    p.mem_buffer = nullptr;
    p.no_alloc = true;
    ctx_ = ggml_init(p);
    if (!ctx_) fail(ErrorKind::Engine, "could not create the CAREER weights context");
    const int64_t d = config_.width, ff = config_.ff;
    code_embd = add("code_embd.weight", d, config_.n_codes + 1);
    for (size_t f = 0; f < config_.covariate_sizes.size(); ++f)
        cov_embd.push_back(add(("cov." + config_.covariate_names[f] + ".weight").c_str(), d, config_.covariate_sizes[f]));
    for (int32_t i = 0; i < config_.layers; ++i) {
        const std::string b = "blk." + std::to_string(i) + ".";
        auto t = [&](const char *n, int64_t a, int64_t c = 0) { return add((b + n).c_str(), a, c); };
        Layer L{};
        L.attn_norm_w = t("attn_norm.weight", d);
        L.attn_norm_b = t("attn_norm.bias", d);
        L.wq = t("attn_q.weight", d, d);
        L.bq = t("attn_q.bias", d);
        L.wk = t("attn_k.weight", d, d);
        L.bk = t("attn_k.bias", d);
        L.wv = t("attn_v.weight", d, d);
        L.bv = t("attn_v.bias", d);
        L.wo = t("attn_output.weight", d, d);
        L.bo = t("attn_output.bias", d);
        L.ffn_norm_w = t("ffn_norm.weight", d);
        L.ffn_norm_b = t("ffn_norm.bias", d);
        L.w_up = t("ffn_up.weight", d, ff);
        L.b_up = t("ffn_up.bias", ff);
        L.w_down = t("ffn_down.weight", ff, d);
        L.b_down = t("ffn_down.bias", d);
        layer.push_back(L);
    }
    out_norm_w = add("output_norm.weight", d);
    out_norm_b = add("output_norm.bias", d);
    out_b = add("output.bias", config_.n_codes);
    buf_ = ggml_backend_alloc_ctx_tensors_from_buft(ctx_, ggml_backend_cpu_buffer_type());
    if (!buf_) {
        ggml_free(ctx_);
        fail(ErrorKind::Engine, "out of memory for the CAREER weights");
    }
    ggml_backend_buffer_clear(buf_, 0);
}

Weights::~Weights() {
    ggml_backend_buffer_free(buf_);
    ggml_free(ctx_);
}

ggml_tensor *Weights::add(const char *name, int64_t ne0, int64_t ne1) {
    ggml_tensor *t = ne1 > 0 ? ggml_new_tensor_2d(ctx_, GGML_TYPE_F32, ne0, ne1) : ggml_new_tensor_1d(ctx_, GGML_TYPE_F32, ne0);
    ggml_set_name(t, name);
    tensors_.push_back(t);
    return t;
}

ggml_tensor *Weights::find(const std::string &name) const {
    for (ggml_tensor *t : tensors_)
        if (name == ggml_get_name(t)) return t;
    return nullptr;
}

int64_t Weights::n_params() const {
    int64_t n = 0;
    for (ggml_tensor *t : tensors_) n += ggml_nelements(t);
    return n;
}

void Weights::init_random(uint64_t seed) {
    Random rng(seed);
    auto normal = [&](ggml_tensor *t, double sd) {
        float *x = static_cast<float *>(t->data);
        for (int64_t i = 0; i < ggml_nelements(t); ++i) x[i] = (float)(sd * rng.normal());
    };
    auto fill = [](ggml_tensor *t, float v) {
        float *x = static_cast<float *>(t->data);
        for (int64_t i = 0; i < ggml_nelements(t); ++i) x[i] = v;
    };
    const double emb_sd = 1.0 / std::sqrt((double)config_.width);
    for (ggml_tensor *t : tensors_) {
        const std::string n = ggml_get_name(t);
        if (n == "code_embd.weight" || n.rfind("cov.", 0) == 0) normal(t, emb_sd);
        else if (n.size() > 12 && n.compare(n.size() - 12, 12, "_norm.weight") == 0) fill(t, 1.0f);
        else if (n.size() > 5 && n.compare(n.size() - 5, 5, ".bias") == 0) fill(t, 0.0f);
        else normal(t, 0.02);
    }
}

void Weights::set_trainable() {
    for (ggml_tensor *t : tensors_) ggml_set_param(t);
}

std::vector<std::vector<float>> Weights::snapshot() const {
    std::vector<std::vector<float>> out;
    out.reserve(tensors_.size());
    for (ggml_tensor *t : tensors_) {
        const float *x = static_cast<const float *>(t->data);
        out.emplace_back(x, x + ggml_nelements(t));
    }
    return out;
}

void Weights::restore(const std::vector<std::vector<float>> &values) {
    for (size_t i = 0; i < tensors_.size() && i < values.size(); ++i)
        std::memcpy(tensors_[i]->data, values[i].data(), values[i].size() * sizeof(float));
}

std::vector<float> positions(int32_t width, int32_t T) {
    std::vector<float> pos((size_t)width * T);
    const int32_t half = width / 2;
    for (int32_t t = 0; t < T; ++t) {
        for (int32_t i = 0; i < half; ++i) {
            const double freq = std::exp(-std::log(10000.0) * i / std::max(1, half - 1));
            pos[(size_t)t * width + i] = (float)std::sin(t * freq);
            pos[(size_t)t * width + half + i] = (float)std::cos(t * freq);
        }
    }
    return pos;
}

namespace {

// Layer norm with a backward pass: rms_norm of the input minus its mean (the mean as a row sum,
// whose backward is a plain repeat).
ggml_tensor *layer_norm(ggml_context *ctx, ggml_tensor *x, ggml_tensor *w, ggml_tensor *b, float eps) {
    ggml_tensor *mean = ggml_scale(ctx, ggml_sum_rows(ctx, x), 1.0f / (float)x->ne[0]);
    ggml_tensor *c = ggml_sub(ctx, x, ggml_repeat(ctx, mean, x));
    return ggml_add(ctx, ggml_mul(ctx, ggml_rms_norm(ctx, c, eps), w), b);
}

// GELU, tanh form: x * sigmoid(2 sqrt(2/pi) (x + 0.044715 x^3)), sigmoid(z) = exp(-softplus(-z)).
ggml_tensor *gelu(ggml_context *ctx, ggml_tensor *x) {
    ggml_tensor *x3 = ggml_mul(ctx, ggml_sqr(ctx, x), x);
    ggml_tensor *inner = ggml_add(ctx, x, ggml_scale(ctx, x3, 0.044715f));
    ggml_tensor *z = ggml_scale(ctx, inner, (float)(2.0 * std::sqrt(2.0 / M_PI)));
    ggml_tensor *sig = ggml_exp(ctx, ggml_neg(ctx, ggml_softplus(ctx, ggml_neg(ctx, z))));
    return ggml_mul(ctx, x, sig);
}

ggml_tensor *linear(ggml_context *ctx, ggml_tensor *x, ggml_tensor *w, ggml_tensor *b) {
    return ggml_add(ctx, ggml_mul_mat(ctx, w, x), b);
}

}  // namespace

ggml_tensor *build_logits(ggml_context *ctx, const Weights &w, int32_t T, int32_t B, int32_t n_out, bool dropout,
                          GraphInputs &in) {
    const Config &c = w.config();
    const int64_t d = c.width, N = (int64_t)T * B, H = c.heads, hd = d / H;
    const int64_t F = (int64_t)c.covariate_sizes.size();

    in.codes = ggml_new_tensor_1d(ctx, GGML_TYPE_I32, N);
    ggml_set_name(in.codes, "in_codes");
    ggml_set_input(in.codes);
    in.covs = ggml_new_tensor_2d(ctx, GGML_TYPE_I32, N, std::max<int64_t>(F, 1));
    ggml_set_name(in.covs, "in_covs");
    ggml_set_input(in.covs);
    in.pos = ggml_new_tensor_2d(ctx, GGML_TYPE_F32, d, T);
    ggml_set_name(in.pos, "in_pos");
    ggml_set_input(in.pos);
    in.rows = ggml_new_tensor_1d(ctx, GGML_TYPE_I32, n_out);
    ggml_set_name(in.rows, "in_rows");
    ggml_set_input(in.rows);
    in.dropout = nullptr;
    int mask_i = 0;
    if (dropout) {
        in.dropout = ggml_new_tensor_3d(ctx, GGML_TYPE_F32, d, N, 2 * c.layers + 1);
        ggml_set_name(in.dropout, "in_dropout");
        ggml_set_input(in.dropout);
    }
    auto drop = [&](ggml_tensor *x) {
        if (!in.dropout) return x;
        ggml_tensor *m = ggml_view_2d(ctx, in.dropout, d, N, in.dropout->nb[1], (size_t)mask_i++ * in.dropout->nb[2]);
        return ggml_mul(ctx, x, m);
    };

    ggml_tensor *x = ggml_get_rows(ctx, w.code_embd, in.codes);  // [d, N]
    for (int64_t f = 0; f < F; ++f) {
        ggml_tensor *ids = ggml_view_1d(ctx, in.covs, N, (size_t)f * in.covs->nb[1]);
        x = ggml_add(ctx, x, ggml_get_rows(ctx, w.cov_embd[f], ids));
    }
    x = ggml_scale(ctx, x, std::sqrt((float)d));
    x = ggml_reshape_3d(ctx, x, d, T, B);
    x = ggml_add(ctx, x, in.pos);  // positions broadcast over the sequences
    x = ggml_reshape_2d(ctx, x, d, N);
    x = drop(x);

    const float kq_scale = 1.0f / std::sqrt((float)hd);
    for (int32_t l = 0; l < c.layers; ++l) {
        const Layer &L = w.layer[l];
        ggml_tensor *h = layer_norm(ctx, x, L.attn_norm_w, L.attn_norm_b, c.norm_eps);
        // [d, N] -> [hd, T, H, B]
        auto heads = [&](ggml_tensor *t) {
            return ggml_cont(ctx, ggml_permute(ctx, ggml_reshape_4d(ctx, t, hd, H, T, B), 0, 2, 1, 3));
        };
        ggml_tensor *q = heads(linear(ctx, h, L.wq, L.bq));
        ggml_tensor *k = heads(linear(ctx, h, L.wk, L.bk));
        ggml_tensor *v = linear(ctx, h, L.wv, L.bv);
        // v as [T, hd, H, B] so that kqv = v^T kq
        ggml_tensor *vt = ggml_cont(ctx, ggml_permute(ctx, ggml_reshape_4d(ctx, v, hd, H, T, B), 1, 2, 0, 3));
        ggml_tensor *kq = ggml_mul_mat(ctx, k, q);  // [T_k, T_q, H, B]
        kq = ggml_diag_mask_inf(ctx, kq, 0);
        kq = ggml_soft_max_ext(ctx, kq, nullptr, kq_scale, 0.0f);
        ggml_tensor *kqv = ggml_mul_mat(ctx, vt, kq);  // [hd, T_q, H, B]
        ggml_tensor *o = ggml_cont(ctx, ggml_permute(ctx, kqv, 0, 2, 1, 3));  // [hd, H, T, B]
        o = ggml_reshape_2d(ctx, o, d, N);
        x = ggml_add(ctx, x, drop(linear(ctx, o, L.wo, L.bo)));

        h = layer_norm(ctx, x, L.ffn_norm_w, L.ffn_norm_b, c.norm_eps);
        h = gelu(ctx, linear(ctx, h, L.w_up, L.b_up));
        x = ggml_add(ctx, x, drop(linear(ctx, h, L.w_down, L.b_down)));
    }
    x = layer_norm(ctx, x, w.out_norm_w, w.out_norm_b, c.norm_eps);
    x = ggml_get_rows(ctx, x, in.rows);  // [d, n_out]: the real records only
    // The output layer is the code embedding table's first n_codes rows (tied weights).
    ggml_tensor *head = ggml_view_2d(ctx, w.code_embd, d, c.n_codes, w.code_embd->nb[1], 0);
    ggml_tensor *logits = linear(ctx, x, head, w.out_b);
    ggml_set_name(logits, "logits");
    return logits;
}

}  // namespace labor::career
