#include "lm_train_graph.h"

#include <cmath>
#include <cstring>
#include <map>

#include "errors.h"
#include "gguf_file.h"

namespace labor {
namespace {

// A GGUF with its tensor data in host memory (`tensors`).
struct LoadedGguf {
    GgufPtr gguf;
    GgmlContextPtr tensors;
};

LoadedGguf load_gguf(const std::string &path) {
    ggml_context *data = nullptr;
    LoadedGguf f;
    f.gguf = open_gguf(path, "model", ErrorKind::Model, &data);
    f.tensors.reset(data);
    return f;
}

// An unsigned hyperparameter; `def` < 0 makes it required.
int64_t key_u32(const gguf_context *g, const std::string &path, const char *key, int64_t def) {
    const int64_t k = gguf_find_key(g, key);
    if (k < 0) {
        if (def < 0) fail(ErrorKind::Model, path + " has no " + key + ": not a complete llama model");
        return def;
    }
    const gguf_type t = gguf_get_kv_type(g, k);
    if (t == GGUF_TYPE_UINT32) return gguf_get_val_u32(g, k);
    if (t == GGUF_TYPE_INT32 && gguf_get_val_i32(g, k) >= 0) return gguf_get_val_i32(g, k);
    fail(ErrorKind::Model, path + ": " + key + " is not a single unsigned integer (per-layer values are not supported for training)");
}

float key_f32(const gguf_context *g, const char *key, float def) {
    const int64_t k = gguf_find_key(g, key);
    if (k < 0 || gguf_get_kv_type(g, k) != GGUF_TYPE_FLOAT32) return def;
    return gguf_get_val_f32(g, k);
}

std::string key_str(const gguf_context *g, const char *key) {
    const int64_t k = gguf_find_key(g, key);
    if (k < 0 || gguf_get_kv_type(g, k) != GGUF_TYPE_STRING) return "";
    return gguf_get_val_str(g, k);
}

}  // namespace

LmTrainModel::LmTrainModel(const std::string &path, ggml_backend_t backend) {
    LoadedGguf f = load_gguf(path);
    const gguf_context *g = f.gguf.get();
    hp_.n_embd = key_u32(g, path, "llama.embedding_length", -1);
    hp_.n_layer = key_u32(g, path, "llama.block_count", -1);
    hp_.n_head = key_u32(g, path, "llama.attention.head_count", -1);
    hp_.n_head_kv = key_u32(g, path, "llama.attention.head_count_kv", hp_.n_head);
    hp_.n_ff = key_u32(g, path, "llama.feed_forward_length", -1);
    hp_.n_ctx_train = key_u32(g, path, "llama.context_length", 0);
    if (hp_.n_head < 1 || hp_.n_head_kv < 1 || hp_.n_embd % hp_.n_head != 0 || hp_.n_head % hp_.n_head_kv != 0)
        fail(ErrorKind::Model, path + ": the head counts do not divide the width (" + std::to_string(hp_.n_embd) + " wide, " +
                                   std::to_string(hp_.n_head) + " heads, " + std::to_string(hp_.n_head_kv) + " K/V heads)");
    const int64_t head = hp_.n_embd / hp_.n_head;
    hp_.n_rot = key_u32(g, path, "llama.rope.dimension_count", head);
    if (hp_.n_rot > head || hp_.n_rot % 2 != 0) fail(ErrorKind::Model, path + ": bad RoPE dimension count " + std::to_string(hp_.n_rot));
    hp_.rms_eps = key_f32(g, "llama.attention.layer_norm_rms_epsilon", 1e-5f);
    hp_.rope_freq_base = key_f32(g, "llama.rope.freq_base", 10000.0f);
    const std::string scaling = key_str(g, "llama.rope.scaling.type");
    if (scaling == "linear") {
        const float factor = key_f32(g, "llama.rope.scaling.factor", 1.0f);
        hp_.rope_freq_scale = factor > 0 ? 1.0f / factor : 1.0f;
    } else if (!scaling.empty() && scaling != "none") {
        fail(ErrorKind::Model, path + ": RoPE scaling \"" + scaling + "\" is not supported by local training (none or linear only)");
    }

    // Every tensor of the file must be one the graph uses: a tensor the graph ignored would be written
    // back untrained while the model claims to be trained end to end.
    const int64_t n = gguf_get_n_tensors(g);
    std::map<std::string, ggml_tensor *> host;
    for (int64_t i = 0; i < n; ++i) {
        const char *name = gguf_get_tensor_name(g, i);
        ggml_tensor *t = ggml_get_tensor(f.tensors.get(), name);
        if (t == nullptr || t->type != GGML_TYPE_F32) fail(ErrorKind::Model, path + ": tensor " + name + " is not f32");
        host[name] = t;
        names_.push_back(name);
    }
    ggml_init_params ip{};
    ip.mem_size = (size_t)(n + 1) * ggml_tensor_overhead();
    ip.no_alloc = true;
    ctx_ = ggml_init(ip);
    if (ctx_ == nullptr) fail(ErrorKind::Engine, "could not allocate the training model's context");
    std::map<std::string, ggml_tensor *> mine;
    for (const std::string &name : names_) {
        ggml_tensor *t = ggml_dup_tensor(ctx_, host[name]);
        ggml_set_name(t, name.c_str());
        mine[name] = t;
    }
    auto take = [&](const std::string &name, std::vector<int64_t> dims, bool required = true) -> ggml_tensor * {
        auto it = mine.find(name);
        if (it == mine.end()) {
            if (required) fail(ErrorKind::Model, path + " has no tensor " + name + ": not a complete llama model");
            return nullptr;
        }
        ggml_tensor *t = it->second;
        for (size_t d = 0; d < 4; ++d) {
            const int64_t want = d < dims.size() ? dims[d] : 1;
            if (t->ne[d] != want) fail(ErrorKind::Model, path + ": tensor " + name + " has an unexpected shape for this llama model");
        }
        mine.erase(it);
        return t;
    };
    auto tok = mine.find("token_embd.weight");
    if (tok == mine.end()) fail(ErrorKind::Model, path + " has no tensor token_embd.weight: not a complete llama model");
    hp_.n_vocab = tok->second->ne[1];
    const int64_t E = hp_.n_embd, Ekv = head * hp_.n_head_kv;
    tok_embd_ = take("token_embd.weight", {E, hp_.n_vocab});
    output_norm_ = take("output_norm.weight", {E});
    output_ = take("output.weight", {E, hp_.n_vocab}, false);  // absent: tied to the token embeddings
    rope_freqs_ = take("rope_freqs.weight", {hp_.n_rot / 2}, false);
    for (int64_t il = 0; il < hp_.n_layer; ++il) {
        const std::string b = "blk." + std::to_string(il) + ".";
        LmLayer L;
        L.attn_norm = take(b + "attn_norm.weight", {E});
        L.wq = take(b + "attn_q.weight", {E, head * hp_.n_head});
        L.wk = take(b + "attn_k.weight", {E, Ekv});
        L.wv = take(b + "attn_v.weight", {E, Ekv});
        L.wo = take(b + "attn_output.weight", {head * hp_.n_head, E});
        L.ffn_norm = take(b + "ffn_norm.weight", {E});
        L.ffn_gate = take(b + "ffn_gate.weight", {E, hp_.n_ff});
        L.ffn_up = take(b + "ffn_up.weight", {E, hp_.n_ff});
        L.ffn_down = take(b + "ffn_down.weight", {hp_.n_ff, E});
        layers_.push_back(L);
    }
    if (!mine.empty())
        fail(ErrorKind::Model, path + ": tensor " + mine.begin()->first +
                                   " is not part of the llama layout local training knows (biases, experts and extra heads are not supported)");

    buf_ = ggml_backend_alloc_ctx_tensors(ctx_, backend);
    if (buf_ == nullptr) fail(ErrorKind::Engine, "could not allocate the training model's weights");
    for (const std::string &name : names_) {
        ggml_tensor *t = ggml_get_tensor(ctx_, name.c_str());
        ggml_backend_tensor_set(t, host[name]->data, 0, ggml_nbytes(t));
        // RoPE frequency factors are constants of the architecture (ggml has no gradient for them).
        if (t != rope_freqs_) {
            ggml_set_param(t);
            params_.push_back(t);
            n_params_ += ggml_nelements(t);
        }
    }
}

LmTrainModel::~LmTrainModel() {
    ggml_backend_buffer_free(buf_);
    ggml_free(ctx_);
}

ggml_tensor *LmTrainModel::build_logits(ggml_context *ctx, ggml_tensor *tokens, ggml_tensor *positions) const {
    const int64_t T = tokens->ne[0], S = tokens->ne[1], N = T * S;
    const int64_t head = hp_.n_embd / hp_.n_head;
    const float kq_scale = 1.0f / std::sqrt((float)head);
    auto rope = [&](ggml_tensor *x) {
        // mode 0 (llama's normal RoPE), no YaRN: ext_factor 0, attn_factor 1.
        return ggml_rope_ext(ctx, x, positions, rope_freqs_, (int)hp_.n_rot, 0, (int)hp_.n_ctx_train, hp_.rope_freq_base,
                             hp_.rope_freq_scale, 0.0f, 1.0f, 32.0f, 1.0f);
    };
    auto norm = [&](ggml_tensor *x, ggml_tensor *w) { return ggml_mul(ctx, ggml_rms_norm(ctx, x, hp_.rms_eps), w); };

    ggml_tensor *x = ggml_get_rows(ctx, tok_embd_, ggml_reshape_1d(ctx, tokens, N));  // [E, N]
    for (const LmLayer &L : layers_) {
        ggml_tensor *cur = norm(x, L.attn_norm);
        ggml_tensor *q = rope(ggml_reshape_4d(ctx, ggml_mul_mat(ctx, L.wq, cur), head, hp_.n_head, T, S));
        ggml_tensor *k = rope(ggml_reshape_4d(ctx, ggml_mul_mat(ctx, L.wk, cur), head, hp_.n_head_kv, T, S));
        ggml_tensor *v = ggml_reshape_4d(ctx, ggml_mul_mat(ctx, L.wv, cur), head, hp_.n_head_kv, T, S);
        q = ggml_cont(ctx, ggml_permute(ctx, q, 0, 2, 1, 3));  // [head, T, n_head, S]
        k = ggml_cont(ctx, ggml_permute(ctx, k, 0, 2, 1, 3));  // [head, T, n_head_kv, S]
        ggml_tensor *vt = ggml_cont(ctx, ggml_permute(ctx, v, 1, 2, 0, 3));  // [T, head, n_head_kv, S]
        ggml_tensor *kq = ggml_mul_mat(ctx, k, q);  // [T_k, T_q, n_head, S]; K/V heads shared by broadcasting
        kq = ggml_soft_max_ext(ctx, ggml_diag_mask_inf(ctx, kq, 0), nullptr, kq_scale, 0.0f);
        ggml_tensor *kqv = ggml_mul_mat(ctx, vt, kq);  // [head, T_q, n_head, S]
        kqv = ggml_cont(ctx, ggml_permute(ctx, kqv, 0, 2, 1, 3));  // [head, n_head, T, S]
        ggml_tensor *attn = ggml_mul_mat(ctx, L.wo, ggml_reshape_2d(ctx, kqv, head * hp_.n_head, N));
        ggml_tensor *ffn_in = ggml_add(ctx, attn, x);
        cur = norm(ffn_in, L.ffn_norm);
        cur = ggml_swiglu_split(ctx, ggml_mul_mat(ctx, L.ffn_gate, cur), ggml_mul_mat(ctx, L.ffn_up, cur));
        x = ggml_add(ctx, ggml_mul_mat(ctx, L.ffn_down, cur), ffn_in);
    }
    x = norm(x, output_norm_);
    return ggml_mul_mat(ctx, output_ != nullptr ? output_ : tok_embd_, x);  // [n_vocab, N]
}

void LmTrainModel::save(const std::string &original_path, const std::string &dest) const {
    LoadedGguf orig = load_gguf(original_path);
    GgufPtr out(gguf_init_empty());
    gguf_set_kv(out.get(), orig.gguf.get());
    const int64_t n = gguf_get_n_tensors(orig.gguf.get());
    if (n != (int64_t)names_.size()) fail(ErrorKind::Model, "the model file " + original_path + " changed during training");
    for (int64_t i = 0; i < n; ++i) {
        const char *name = gguf_get_tensor_name(orig.gguf.get(), i);
        ggml_tensor *host = ggml_get_tensor(orig.tensors.get(), name);
        ggml_tensor *trained = ggml_get_tensor(ctx_, name);
        if (host == nullptr || trained == nullptr || ggml_nbytes(host) != ggml_nbytes(trained))
            fail(ErrorKind::Model, "the model file " + original_path + " changed during training");
        ggml_backend_tensor_get(trained, host->data, 0, ggml_nbytes(host));
        gguf_add_tensor(out.get(), host);
    }
    if (!gguf_write_to_file(out.get(), dest.c_str(), false))
        fail(ErrorKind::Engine, "could not write the checkpoint " + dest + ": " + std::strerror(errno));
}

}  // namespace labor
