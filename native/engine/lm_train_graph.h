// The llama forward pass as a ggml graph that training can differentiate end to end: every weight
// of the file is a ggml parameter, the token embeddings and the attention's K and V projections
// included. llama.cpp's own graph (llama_opt_*) cannot do that: its attention reads K and V back
// from the KV cache, a buffer the backward pass does not go through, and it leaves the token
// embeddings out of the parameters (see docs/finetune-local.md for the measurements behind the
// choice). This graph has no KV cache: a window attends to itself under a causal mask.
//
// The arithmetic is llama.cpp's for the llama architecture (src/models/llama.cpp): RMS norm times the
// norm weight, Q/K/V projections, RoPE (mode 0, no scaling), softmax(K^T Q / sqrt(head size)) with a
// causal mask, grouped-query heads by broadcasting, output projection and residual, then RMS norm and
// the SwiGLU feed-forward with its residual, a final RMS norm and the output layer (the token
// embeddings when the file has no output.weight). A test checks its loss against llama.cpp's forward.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "ggml-backend.h"
#include "ggml.h"
#include "gguf.h"

namespace labor {

struct LmHparams {
    int64_t n_vocab = 0, n_embd = 0, n_layer = 0, n_head = 0, n_head_kv = 0, n_ff = 0, n_rot = 0;
    int64_t n_ctx_train = 0;
    float rms_eps = 1e-5f;
    float rope_freq_base = 10000.0f;
    float rope_freq_scale = 1.0f;
};

struct LmLayer {
    ggml_tensor *attn_norm = nullptr, *wq = nullptr, *wk = nullptr, *wv = nullptr, *wo = nullptr;
    ggml_tensor *ffn_norm = nullptr, *ffn_gate = nullptr, *ffn_up = nullptr, *ffn_down = nullptr;
};

// A llama GGUF's weights in a backend buffer, every tensor marked as a trainable parameter.
class LmTrainModel {
  public:
    // Reads the file's hyperparameters and weights. Throws EngineException(Model) on a file it cannot
    // train (not llama, not f32, missing tensors, RoPE scaling other than linear).
    LmTrainModel(const std::string &path, ggml_backend_t backend);
    ~LmTrainModel();
    LmTrainModel(const LmTrainModel &) = delete;
    LmTrainModel &operator=(const LmTrainModel &) = delete;

    const LmHparams &hparams() const { return hp_; }
    int64_t parameter_count() const { return n_params_; }
    // The trained tensors (every tensor but rope_freqs).
    const std::vector<ggml_tensor *> &params() const { return params_; }

    // Logits [n_vocab, n_ctx * n_seq] of `tokens` (I32 [n_ctx, n_seq], one window per column) built in
    // `ctx` (no_alloc); `positions` is I32 [n_ctx] holding 0..n_ctx-1.
    ggml_tensor *build_logits(ggml_context *ctx, ggml_tensor *tokens, ggml_tensor *positions) const;

    // Writes the current weights under the original file's metadata, tensors in the original order.
    void save(const std::string &original_path, const std::string &dest) const;

  private:
    LmHparams hp_;
    int64_t n_params_ = 0;
    ggml_context *ctx_ = nullptr;  // tensor metadata; data lives in buf_
    ggml_backend_buffer_t buf_ = nullptr;
    std::vector<std::string> names_;  // GGUF order
    std::vector<ggml_tensor *> params_;
    ggml_tensor *tok_embd_ = nullptr, *output_norm_ = nullptr, *output_ = nullptr, *rope_freqs_ = nullptr;
    std::vector<LmLayer> layers_;
};

}  // namespace labor
