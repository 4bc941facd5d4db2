// The model's output layer (logits = W h) and the full-vocabulary log-sum-exp, fused, on the CPU.
//
// Why: every evaluated trie node needs log-sum-exp over the whole vocabulary of W h. llama.cpp
// computes all of W h into a logits buffer first, with a matrix kernel that vectorises along the
// model's width and pays a horizontal sum for every logit: on narrow models (the 64-wide test
// models, 768-wide ones) that output product is most of the work and runs far below the CPU's
// rate. This head takes the final hidden states (the graph's "result_norm", after the output norm)
// and computes the normaliser block by block over the vocabulary with register-tiled FMAs along the
// vocabulary, never writing the logits out. It covers what llama.cpp's CPU graph computes for the
// plain `logits = output.weight x norm(h)` architectures with f32 or f16 output weights; with f16
// weights the hidden state is rounded to f16 first where ggml's CPU kernel does so (measured at load).
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace labor {

class OutputHead {
  public:
    // Reads the output matrix ("output.weight", or the tied "token_embd.weight") from the GGUF file.
    // Returns null with `why_not` set when the file's output layer is not one this head covers.
    static std::unique_ptr<OutputHead> load(const std::string &path, int32_t n_embd, int32_t n_vocab, std::string &why_not);

    int32_t n_embd() const { return d_; }
    int32_t n_vocab() const { return V_; }
    // Whether ggml's CPU kernel rounds the hidden state to f16 against these (f16) weights, as the
    // model measures it at load (Model::calibrate_head): callers then round first.
    bool weights_f16() const { return f16_weights_; }
    bool rounds_input_to_f16() const { return f16_input_; }
    void set_rounds_input_to_f16(bool on) { f16_input_ = on && f16_weights_; }
    size_t bytes() const { return panels_.size() * sizeof(float); }

    // out[r] = log sum_v exp(W h_r) for the hidden states h_r (n_embd floats each), on `threads` threads.
    void logsumexp(const std::vector<const float *> &h, double *out, int threads) const;
    // One logit, W[token] . h, summed in the same order as logsumexp's kernel.
    float logit(const float *h, int32_t token) const;
    // The whole logits row W h.
    void logits(const float *h, float *out) const;

  private:
    OutputHead(int32_t d, int32_t V) : d_(d), V_(V) {}
    int32_t d_, V_;
    int32_t n_panels_ = 0;
    int32_t tail_lanes_ = 0;      // vocabulary entries in the last panel when not a whole one
    int32_t tail_valid_[16] = {};  // -1 for those lanes, 0 for the padding
    bool f16_weights_ = false;
    bool f16_input_ = false;
    // W in panels of 16 vocabulary entries: panel p holds, for k = 0..d-1, the 16 weights
    // W[16p + j][k] side by side, so one vector load feeds 16 logits at once.
    std::vector<float> panels_;
};

}  // namespace labor
