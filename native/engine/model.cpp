#include "model.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <thread>

#include "errors.h"
#include "ggml-backend.h"
#include "gguf_file.h"
#include "log.h"
#include "logsumexp.h"

namespace labor {
namespace {

bool abort_requested(void *data) { return static_cast<const Model *>(data)->cancelled(); }

// Reads general.architecture with ggml's GGUF reader before llama.cpp sees the file, so that a
// missing, truncated or foreign file gets a precise message.
std::string read_architecture(const std::string &path) {
    std::string arch = gguf_string(open_gguf(path, "model", ErrorKind::Model).get(), "general.architecture");
    if (arch.empty()) fail(ErrorKind::Model, path + " has no general.architecture: not a model GGUF");
    return arch;
}

}  // namespace

Model::Model(const ModelOptions &opts) : opts_(opts) {
    opts.validate();
    install_log_handler();
    take_recent_log_errors();
    arch_ = read_architecture(opts.path);

    llama_model_params mp = llama_model_default_params();
    mp.n_gpu_layers = opts.gpu_layers;
    mp.load_mode = opts.use_mmap ? LLAMA_LOAD_MODE_AUTO : LLAMA_LOAD_MODE_NONE;
    model_.reset(llama_model_load_from_file(opts.path.c_str(), mp));
    if (!model_) {
        std::string why = take_recent_log_errors();
        fail(ErrorKind::Model, "llama.cpp could not load " + opts.path + " (architecture \"" + arch_ + "\")" +
                                   (why.empty() ? "" : ": " + why));
    }
    if (llama_model_has_encoder(model_.get()) || !llama_model_has_decoder(model_.get())) {
        fail(ErrorKind::Model, opts.path + " has architecture \"" + arch_ +
                                   "\", which is not a decoder-only language model; occupation scoring needs one");
    }
    vocab_ = llama_model_get_vocab(model_.get());
    n_vocab_ = llama_vocab_n_tokens(vocab_);

    threads_ = opts.threads > 0 ? opts.threads : std::max(1u, std::thread::hardware_concurrency());

    // The fused output head where it computes exactly what llama.cpp's CPU graph would: llama's
    // plain output layer, f32/f16 weights, no GPU offload (there the logits stay on the device's
    // kernels). "auto" takes it where the output layer is a large part of the model (narrow models)
    // and its f32 copy stays small; elsewhere the layers, not the output product, set the pace.
    if (opts.output_head != 0) {
        std::string why;
        if (arch_ != "llama") {
            why = "architecture \"" + arch_ + "\" (the head covers llama's plain output layer)";
        } else if (opts.gpu_layers != 0 && llama_supports_gpu_offload()) {
            why = "layers are offloaded to a GPU";
        } else {
            const int64_t n_embd = llama_model_n_embd(model_.get());
            const double share = (double)n_embd * (double)n_vocab_ / std::max(1.0, (double)llama_model_n_params(model_.get()));
            if (opts.output_head < 0 && share < kHeadAutoShare) {
                // Measured: 1.3-1.7x on the 64-wide test models (96% output layer), a wash (0.95-1.12x)
                // on the 170M one (15%): where the layers are most of the work the head buys nothing.
                why = "the output layer is " + std::to_string((int)std::lround(share * 100)) +
                      "% of the weights (auto uses the head from 25%, where it measured faster)";
            } else {
                head_ = OutputHead::load(opts.path, (int32_t)n_embd, n_vocab_, why);
                if (head_ && opts.output_head < 0 && head_->bytes() > kHeadAutoBytes) {
                    why = "its output matrix in f32 would take " + std::to_string(head_->bytes() >> 20) + " MiB";
                    head_.reset();
                }
            }
        }
        if (!head_ && opts.output_head > 0) fail(ErrorKind::Input, "the fused output head cannot be used with " + opts.path + ": " + why);
        head_status_ = head_ ? "fused" : "off: " + why;
    } else {
        head_status_ = "off: turned off";
    }

    llama_context_params cp = llama_context_default_params();
    cp.n_ctx = (uint32_t)opts.context_size;
    cp.n_batch = (uint32_t)std::min(opts.batch_size, opts.context_size);
    cp.n_ubatch = cp.n_batch;
    cp.n_seq_max = kMaxSeq;
    // llama.cpp sizes its output buffer for at least n_seq_max rows and asserts (aborting the
    // process) when that exceeds n_outputs_max, which defaults to n_batch: set it explicitly.
    cp.n_outputs_max = std::max<uint32_t>(cp.n_batch, kMaxSeq);
    // Trie nodes belong to many sequences at once: that needs the unified KV cache.
    cp.kv_unified = true;
    cp.n_threads = threads_;
    cp.n_threads_batch = threads_;
    cp.flash_attn_type = opts.flash_attention < 0   ? LLAMA_FLASH_ATTN_TYPE_AUTO
                         : opts.flash_attention == 0 ? LLAMA_FLASH_ATTN_TYPE_DISABLED
                                                     : LLAMA_FLASH_ATTN_TYPE_ENABLED;
    cp.no_perf = true;
    if (opts.kv_cache == KvCache::F32) {
        cp.type_k = GGML_TYPE_F32;
        cp.type_v = GGML_TYPE_F32;
    }
    cp.abort_callback = abort_requested;
    cp.abort_callback_data = this;
    if (head_) {
        cp.cb_eval = eval_callback;
        cp.cb_eval_user_data = this;
    }
    ctx_.reset(llama_init_from_model(model_.get(), cp));
    if (!ctx_) {
        std::string why = take_recent_log_errors();
        fail(ErrorKind::Model, "llama.cpp could not create a context for " + opts.path + (why.empty() ? "" : ": " + why));
    }
    if (head_ && head_->weights_f16()) calibrate_head();
    if (!opts.lora.empty()) {
        std::vector<std::pair<int32_t, float>> active;
        for (const auto &[path, scale] : opts.lora) active.emplace_back(load_adapter(path), scale);
        set_adapters(active);
    }
}

int32_t Model::load_adapter(const std::string &path) {
    for (size_t i = 0; i < adapter_paths_.size(); ++i)
        if (adapter_paths_[i] == path) return (int32_t)i;
    // Checked with ggml's GGUF reader first, so that a model file or a broken file gets a clear message.
    GgufPtr g = open_gguf(path, "LoRA adapter", ErrorKind::Input);
    const std::string type = gguf_string(g.get(), "general.type");
    const bool on_output = gguf_find_tensor(g.get(), "output.weight.lora_a") >= 0;
    if (type != "adapter") fail(ErrorKind::Input, path + " is not a LoRA adapter GGUF (general.type is \"" + type + "\")");
    take_recent_log_errors();
    std::unique_ptr<llama_adapter_lora, AdapterDeleter> a(llama_adapter_lora_init(model_.get(), path.c_str()));
    if (!a) {
        std::string why = take_recent_log_errors();
        fail(ErrorKind::Input, "LoRA adapter " + path + " does not fit " + opts_.path + (why.empty() ? "" : ": " + why));
    }
    adapters_.push_back(std::move(a));
    adapter_paths_.push_back(path);
    adapter_on_output_.push_back(on_output);
    return (int32_t)adapters_.size() - 1;
}

void Model::set_adapters(const std::vector<std::pair<int32_t, float>> &active) {
    std::vector<llama_adapter_lora *> ptrs;
    std::vector<float> scales;
    bool on_output = false;
    for (const auto &[i, scale] : active) {
        if (i < 0 || (size_t)i >= adapters_.size()) fail(ErrorKind::Engine, "internal: no adapter " + std::to_string(i));
        if (!std::isfinite(scale)) fail(ErrorKind::Input, "LoRA scale must be a finite number");
        ptrs.push_back(adapters_[(size_t)i].get());
        scales.push_back(scale);
        on_output = on_output || adapter_on_output_[(size_t)i];
    }
    if (active == active_adapters_) return;
    if (llama_set_adapters_lora(ctx_.get(), ptrs.data(), ptrs.size(), scales.data()) != 0) {
        std::string why = take_recent_log_errors();
        fail(ErrorKind::Engine, "llama.cpp could not apply the LoRA adapters" + (why.empty() ? "" : ": " + why));
    }
    active_adapters_ = active;
    output_adapted_ = on_output;
    if (output_adapted_) head_enabled_ = false;
    // Cached keys and values were computed with the previous weights.
    llama_memory_clear(llama_get_memory(ctx_.get()), false);
    prompt_cache_.clear();
}

std::string Model::description() const {
    char buf[256];
    int n = llama_model_desc(model_.get(), buf, sizeof buf);
    return n > 0 ? std::string(buf, std::min<size_t>(n, sizeof buf - 1)) : arch_;
}

Tokens tokenize(const llama_vocab *vocab, const std::string &text, bool add_special) {
    if (text.size() > (size_t)INT32_MAX / 2) fail(ErrorKind::Input, "text too long to tokenize");
    Tokens out(text.size() + 8);
    int32_t n = llama_tokenize(vocab, text.data(), (int32_t)text.size(), out.data(), (int32_t)out.size(), add_special, false);
    if (n < 0) {
        if (n == INT32_MIN) fail(ErrorKind::Input, "text too long to tokenize");
        out.resize(-n);
        n = llama_tokenize(vocab, text.data(), (int32_t)text.size(), out.data(), (int32_t)out.size(), add_special, false);
        if (n < 0) fail(ErrorKind::Engine, "tokenization failed");
    }
    out.resize(n);
    return out;
}

Tokens Model::tokenize(const std::string &text, bool add_special) const { return labor::tokenize(vocab_, text, add_special); }

std::string Model::token_piece(llama_token t) const {
    char buf[256];
    int32_t n = llama_token_to_piece(vocab_, t, buf, sizeof buf, 0, true);
    if (n < 0) {
        std::string big(-n, '\0');
        n = llama_token_to_piece(vocab_, t, big.data(), (int32_t)big.size(), 0, true);
        return big.substr(0, std::max(0, n));
    }
    return std::string(buf, n);
}

std::string Model::detokenize(const Tokens &tokens) const {
    for (llama_token t : tokens)
        if (t < 0 || t >= n_vocab_) fail(ErrorKind::Input, "token id " + std::to_string(t) + " is outside the vocabulary");
    std::string out(tokens.size() * 8 + 16, '\0');
    int32_t n = llama_detokenize(vocab_, tokens.data(), (int32_t)tokens.size(), out.data(), (int32_t)out.size(), false, false);
    if (n < 0) {
        out.resize(-n);
        n = llama_detokenize(vocab_, tokens.data(), (int32_t)tokens.size(), out.data(), (int32_t)out.size(), false, false);
    }
    out.resize(std::max(0, n));
    return out;
}

const float *Model::hidden_row(int32_t bi) const {
    if (!rows_from_head_ || bi < 0 || bi >= (int32_t)output_of_.size() || output_of_[bi] < 0)
        fail(ErrorKind::Engine, "internal: no output row for batch index " + std::to_string(bi));
    return &hidden_[(size_t)output_of_[bi] * (size_t)head_->n_embd()];
}

float Model::logit(int32_t bi, llama_token token) const {
    if (rows_from_head_) return head_->logit(hidden_row(bi), token);
    const float *row = llama_get_logits_ith(ctx_.get(), bi);
    if (!row) fail(ErrorKind::Engine, "internal: no logits for batch index " + std::to_string(bi));
    return row[token];
}

void Model::copy_logits(int32_t bi, std::vector<float> &out) const {
    out.resize((size_t)n_vocab_);
    if (rows_from_head_) {
        head_->logits(hidden_row(bi), out.data());
        return;
    }
    const float *row = llama_get_logits_ith(ctx_.get(), bi);
    if (!row) fail(ErrorKind::Engine, "internal: no logits for batch index " + std::to_string(bi));
    std::copy(row, row + n_vocab_, out.begin());
}

void Model::logsumexp_rows(const std::vector<int32_t> &batch_indices, std::vector<double> &out) const {
    out.resize(batch_indices.size());
    const int64_t n = (int64_t)batch_indices.size();
    if (n == 0) return;
    std::vector<const float *> rows((size_t)n);
    if (rows_from_head_) {
        for (int64_t k = 0; k < n; ++k) rows[k] = hidden_row(batch_indices[k]);
        head_->logsumexp(rows, out.data(), threads_);
        return;
    }
    // llama_get_logits_ith is not guaranteed thread-safe (it may log): fetch pointers first.
    for (int64_t k = 0; k < n; ++k) {
        rows[k] = llama_get_logits_ith(ctx_.get(), batch_indices[k]);
        if (!rows[k]) fail(ErrorKind::Engine, "internal: no logits for batch index " + std::to_string(batch_indices[k]));
    }
    const int32_t nv = n_vocab_;
#pragma omp parallel for num_threads(threads_) schedule(static) if (n > 1)
    for (int64_t k = 0; k < n; ++k) out[k] = logsumexp(rows[k], (size_t)nv);
}

void Model::check_cancelled() const {
    if (cancelled()) fail(ErrorKind::Cancelled, "the operation was cancelled");
}

// ggml's scheduler asks about every node of the graph (ask = true) and computes up to each node we
// want, then shows it to us (ask = false); returning false there stops the graph. With capture on,
// we want the output norm ("result_norm", n_embd x outputs): we copy it and stop, so the output
// product and the logits never run. Anything unexpected lets the graph finish, and decode() then
// falls back to llama.cpp's logits.
bool Model::eval_callback(ggml_tensor *t, bool ask, void *self) {
    Model &m = *static_cast<Model *>(self);
    if (!m.capture_ || m.captured_) return false;
    if (std::strcmp(t->name, "result_norm") != 0) return false;
    if (ask) return true;
    const int32_t d = m.head_->n_embd();
    if (t->type != GGML_TYPE_F32 || t->ne[0] != d || t->ne[1] != m.capture_rows_ || t->ne[2] != 1 || t->ne[3] != 1 ||
        !ggml_is_contiguous(t))
        return true;
    // No exception may unwind through ggml and llama_decode: on failure the graph just finishes.
    try {
        m.hidden_.resize((size_t)m.capture_rows_ * d);
    } catch (...) {
        return true;
    }
    ggml_backend_tensor_get(t, m.hidden_.data(), 0, m.hidden_.size() * sizeof(float));
    if (m.head_->rounds_input_to_f16())
        for (float &x : m.hidden_) x = ggml_fp16_to_fp32(ggml_fp32_to_fp16(x));
    m.captured_ = true;
    return m.capture_continue_;
}

// The graph showed no output norm of the expected shape: llama.cpp's logits from now on.
void Model::drop_head() {
    head_status_ = "off: the model's graph has no result_norm of the expected shape";
    head_enabled_ = false;
    head_.reset();
}

// With f16 output weights, ggml's CPU kernels may round the hidden state to f16 before the product
// (its generic path) or not (kernels that take f32 inputs), depending on the CPU and build. One probe
// decode with both the hidden state and llama.cpp's logits tells which, so the head does the same.
void Model::calibrate_head() {
    const int32_t n = std::min<int32_t>(4, n_vocab_);
    Batch batch(n, 1);
    for (int32_t i = 0; i < n; ++i) batch.add((llama_token)i, i, 0, 0, i == n - 1);
    capture_rows_ = 1;
    captured_ = false;
    capture_ = true;
    capture_continue_ = true;
    const int32_t rc = llama_decode(ctx_.get(), batch.get());
    capture_ = false;
    capture_continue_ = false;
    const float *ref = rc == 0 && captured_ ? llama_get_logits_ith(ctx_.get(), n - 1) : nullptr;
    llama_memory_clear(llama_get_memory(ctx_.get()), false);
    if (!ref) {
        drop_head();
        return;
    }
    const int32_t d = head_->n_embd();
    std::vector<float> h(hidden_.begin(), hidden_.begin() + d), r(h);
    for (float &x : r) x = ggml_fp16_to_fp32(ggml_fp32_to_fp16(x));
    double err_plain = 0, err_round = 0;
    const int32_t step = std::max<int32_t>(1, n_vocab_ / 512);
    for (int32_t t = 0; t < n_vocab_; t += step) {
        err_plain = std::max(err_plain, (double)std::fabs(head_->logit(h.data(), t) - ref[t]));
        err_round = std::max(err_round, (double)std::fabs(head_->logit(r.data(), t) - ref[t]));
    }
    head_->set_rounds_input_to_f16(err_round < err_plain);
}

void Model::decode(Batch &batch) {
    check_cancelled();
    // llama.cpp aborts the process (GGML_ASSERT) on a batch larger than n_batch: never send one.
    if ((uint32_t)batch.size() > n_batch())
        fail(ErrorKind::Engine, "internal: batch of " + std::to_string(batch.size()) + " tokens exceeds n_batch");
    rows_from_head_ = false;
    capture_ = false;
    if (head_enabled_) {
        const llama_batch &b = batch.get();
        output_of_.assign((size_t)b.n_tokens, -1);
        int32_t n_out = 0;
        for (int32_t i = 0; i < b.n_tokens; ++i)
            if (b.logits[i]) output_of_[i] = n_out++;
        capture_rows_ = n_out;
        captured_ = false;
        capture_ = n_out > 0;
    }
    int32_t rc = llama_decode(ctx_.get(), batch.get());
    const bool wanted = capture_;
    capture_ = false;
    if (rc == 0) {
        if (wanted && captured_) {
            rows_from_head_ = true;
        } else if (wanted) {
            // The graph ran to the end, so this decode's logits are complete.
            drop_head();
        }
        return;
    }
    // The cache may hold part of the batch now: forget the prompt cache so the next call starts clean.
    llama_memory_clear(llama_get_memory(ctx_.get()), false);
    prompt_cache_.clear();
    if (rc == 2 || cancelled()) fail(ErrorKind::Cancelled, "the operation was cancelled");
    std::string why = take_recent_log_errors();
    if (rc == 1) fail(ErrorKind::Engine, "llama_decode found no KV slot (context too small for the batch)" + (why.empty() ? "" : ": " + why));
    fail(ErrorKind::Engine, "llama_decode failed with code " + std::to_string(rc) + (why.empty() ? "" : ": " + why));
}

}  // namespace labor
