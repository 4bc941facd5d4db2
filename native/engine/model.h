// A loaded GGUF model and its one llama_context, owned by RAII handles.
#pragma once
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "llama.h"
#include "options.h"
#include "output_head.h"
#include "prompt_cache.h"

struct ggml_tensor;

namespace labor {

// A LoRA adapter GGUF and the scale it is applied with.
struct LoraAdapter {
    std::string path;
    float scale = 1.0f;

    template <class V, class O>
    static void fields(V &v, O &o) {
        v.value("path", o.path);
        v.real("scale", o.scale, options::kFinite);
    }
};

enum class KvCache { F16, F32 };

// Loading a model (the addon's loadModel; the TypeScript ModelOptions plus the path).
struct ModelOptions {
    std::string path;
    int threads = 0;          // 0: all hardware threads
    int context_size = 4096;  // KV cells: prompt + one chunk of trie nodes
    int batch_size = 256;     // tokens per llama_decode (n_batch = n_ubatch): the trie chunk size
    int gpu_layers = 0;       // layers offloaded to a GPU build (-1: all)
    int flash_attention = 0;  // -1 auto, 0 off (exact: on CPU flash attention rounds to f16), 1 on
    bool use_mmap = true;
    // f32: exact agreement between batch shapes (f16 rounding of K/V can turn 1e-7 differences into
    // 1e-4 nats); llama.cpp's default is f16.
    KvCache kv_cache = KvCache::F32;
    int output_head = -1;     // the fused output head (output_head.h): -1 where it applies, 0 never,
                              // 1 required (an error where it cannot apply)
    std::vector<LoraAdapter> lora;  // applied from the start

    template <class V, class O>
    static void fields(V &v, O &o) {
        v.value("path", o.path);
        v.integer("threads", o.threads, {0, 1024});
        v.integer("contextSize", o.context_size, {64, options::kInt32Max});
        v.integer("batchSize", o.batch_size, {1, options::kInt32Max});
        v.integer("gpuLayers", o.gpu_layers, {-1, 100000});
        v.choice("flashAttention", o.flash_attention, {{"auto", -1}, {"off", 0}, {"on", 1}});
        v.value("useMmap", o.use_mmap);
        v.choice("kvCache", o.kv_cache, {{"f16", KvCache::F16}, {"f32", KvCache::F32}});
        v.choice("outputHead", o.output_head, {{"auto", -1}, {"off", 0}, {"on", 1}});
        v.value("lora", o.lora);
    }
    void validate() const {
        options::require("path", path, "a file path");
        for (size_t i = 0; i < lora.size(); ++i)
            options::require(("lora[" + std::to_string(i) + "].path").c_str(), lora[i].path, "a file path");
        options::check_ranges(*this);
    }
};

struct ModelDeleter {
    void operator()(llama_model *m) const { llama_model_free(m); }
};
struct ContextDeleter {
    void operator()(llama_context *c) const { llama_free(c); }
};
struct AdapterDeleter {
    void operator()(llama_adapter_lora *a) const { llama_adapter_lora_free(a); }
};

// A llama_batch that frees itself.
class Batch {
  public:
    Batch(int32_t n_tokens, int32_t n_seq_max) : capacity_(n_tokens), b_(llama_batch_init(n_tokens, 0, n_seq_max)) {}
    ~Batch() { llama_batch_free(b_); }
    Batch(const Batch &) = delete;
    Batch &operator=(const Batch &) = delete;
    void clear() { b_.n_tokens = 0; }
    // Adds a token that belongs to sequences [seq_lo, seq_hi] (contiguous ids).
    void add(llama_token tok, llama_pos pos, int32_t seq_lo, int32_t seq_hi, bool logits) {
        const int32_t i = b_.n_tokens++;
        b_.token[i] = tok;
        b_.pos[i] = pos;
        b_.n_seq_id[i] = seq_hi - seq_lo + 1;
        for (int32_t s = seq_lo; s <= seq_hi; ++s) b_.seq_id[i][s - seq_lo] = s;
        b_.logits[i] = logits;
    }
    int32_t size() const { return b_.n_tokens; }
    int32_t capacity() const { return capacity_; }
    llama_batch &get() { return b_; }

  private:
    int32_t capacity_;
    llama_batch b_;
};

// llama_tokenize with its retry on a short buffer and its errors as exceptions.
Tokens tokenize(const llama_vocab *vocab, const std::string &text, bool add_special);

class Model {
  public:
    static constexpr int kMaxSeq = 256;  // LLAMA_MAX_SEQ of the pinned llama.cpp
    static constexpr size_t kHeadAutoBytes = (size_t)512 << 20;  // "auto" head: output matrix up to 512 MiB in f32
    static constexpr double kHeadAutoShare = 0.25;               // and at least this share of the weights

    explicit Model(const ModelOptions &opts);

    Tokens tokenize(const std::string &text, bool add_special) const;
    std::string detokenize(const Tokens &tokens) const;
    std::string token_piece(llama_token t) const;

    llama_context *ctx() const { return ctx_.get(); }
    llama_model *model() const { return model_.get(); }
    const llama_vocab *vocab() const { return vocab_; }
    int32_t n_vocab() const { return n_vocab_; }
    uint32_t n_ctx() const { return llama_n_ctx(ctx_.get()); }
    uint32_t n_batch() const { return llama_n_batch(ctx_.get()); }
    int threads() const { return threads_; }
    const ModelOptions &options() const { return opts_; }
    std::string description() const;
    std::string architecture() const { return arch_; }

    // Serialises use of the context: one scoring call at a time per model.
    std::mutex &mutex() { return mutex_; }

    // What the KV cache holds of the previous prompt (prompt_cache.h): the scorers read it and, with
    // every change they make to the cells, update it.
    PromptCache &prompt_cache() { return prompt_cache_; }

    // Cancellation: checked between decodes and by llama.cpp's abort callback during one.
    void set_cancel_flag(const int32_t *flag) { cancel_flag_.store(flag); }
    bool cancelled() const {
        const int32_t *f = cancel_flag_.load();
        return f != nullptr && __atomic_load_n(f, __ATOMIC_RELAXED) != 0;
    }
    void check_cancelled() const;

    // llama_decode with errors turned into exceptions (and the cache state reset on failure).
    // With the fused head enabled, the graph stops after the output norm and the decode's output
    // rows are hidden states; read them through the accessors below, never llama_get_logits_ith.
    void decode(Batch &batch);

    // The fused output head: null when off or not applicable (head_status() says why).
    const OutputHead *head() const { return head_.get(); }
    const std::string &head_status() const { return head_status_; }
    // Whether decodes use the head (scoring modes turn it on; the baselines keep llama.cpp's logits).
    bool head_enabled() const { return head_enabled_; }
    void set_head_enabled(bool on) { head_enabled_ = on && head_ != nullptr && !output_adapted_; }

    // The last decode's output rows, by batch index: through the head or from llama.cpp's logits.
    bool rows_from_head() const { return rows_from_head_; }
    const float *hidden_row(int32_t batch_index) const;
    float logit(int32_t batch_index, llama_token token) const;
    void copy_logits(int32_t batch_index, std::vector<float> &out) const;
    // log-sum-exp over the vocabulary of each listed row, spread over the model's threads.
    void logsumexp_rows(const std::vector<int32_t> &batch_indices, std::vector<double> &out) const;

    // LoRA adapters: each file is loaded once (by path) and any combination of the loaded ones is
    // applied to the context without reloading the base. Call with the model's lock held.
    int32_t load_adapter(const std::string &path);
    void set_adapters(const std::vector<std::pair<int32_t, float>> &active);
    const std::vector<std::pair<int32_t, float>> &active_adapters() const { return active_adapters_; }
    const std::string &adapter_path(int32_t i) const { return adapter_paths_[(size_t)i]; }

  private:
    ModelOptions opts_;
    std::unique_ptr<llama_model, ModelDeleter> model_;
    // Between the model and the context: freed after the context that uses them, before the model.
    std::vector<std::unique_ptr<llama_adapter_lora, AdapterDeleter>> adapters_;
    std::vector<std::string> adapter_paths_;
    std::vector<bool> adapter_on_output_;  // adapts output.weight, which the fused head reads directly
    std::vector<std::pair<int32_t, float>> active_adapters_;
    std::unique_ptr<llama_context, ContextDeleter> ctx_;
    const llama_vocab *vocab_ = nullptr;
    int32_t n_vocab_ = 0;
    int threads_ = 1;
    std::string arch_;
    std::mutex mutex_;
    PromptCache prompt_cache_;
    std::atomic<const int32_t *> cancel_flag_{nullptr};

    std::unique_ptr<OutputHead> head_;
    std::string head_status_;
    bool head_enabled_ = false;
    bool output_adapted_ = false;  // an active adapter changes the output layer: llama.cpp's logits only
    // Capture state of one decode (see eval_callback in model.cpp).
    bool capture_ = false;
    bool captured_ = false;
    int32_t capture_rows_ = 0;
    bool rows_from_head_ = false;
    std::vector<float> hidden_;         // capture_rows_ x n_embd
    std::vector<int32_t> output_of_;    // batch index -> output row (-1: no output)
    bool capture_continue_ = false;     // observe the output norm but let the graph finish
    static bool eval_callback(ggml_tensor *t, bool ask, void *self);
    void calibrate_head();
    void drop_head();
};

// Turns the fused head on (where the model has one) or off for a scope, and back after it.
class HeadScope {
  public:
    HeadScope(Model &m, bool on) : m_(m), before_(m.head_enabled()) { m_.set_head_enabled(on); }
    ~HeadScope() { m_.set_head_enabled(before_); }
    HeadScope(const HeadScope &) = delete;
    HeadScope &operator=(const HeadScope &) = delete;

  private:
    Model &m_;
    bool before_;
};

// Holds the model's lock and installs a call's cancel flag for the duration of that call.
class CallScope {
  public:
    CallScope(Model &m, const int32_t *cancel_flag) : m_(m), lock_(m.mutex()) { m_.set_cancel_flag(cancel_flag); }
    ~CallScope() { m_.set_cancel_flag(nullptr); }
    CallScope(const CallScope &) = delete;
    CallScope &operator=(const CallScope &) = delete;

  private:
    Model &m_;
    std::lock_guard<std::mutex> lock_;
};

}  // namespace labor
