#include "model.h"

#include <sys/stat.h>

#include <algorithm>
#include <cstdio>
#include <thread>

#include "errors.h"
#include "gguf.h"
#include "log.h"

namespace labor {
namespace {

bool abort_requested(void *data) { return static_cast<const Model *>(data)->cancelled(); }

// Reads general.architecture with ggml's GGUF reader before llama.cpp sees the file, so that a
// missing, truncated or foreign file gets a precise message.
std::string read_architecture(const std::string &path) {
    struct stat st {};
    if (stat(path.c_str(), &st) != 0) fail(ErrorKind::Model, "model file not found: " + path);
    if (!S_ISREG(st.st_mode)) fail(ErrorKind::Model, "model path is not a file: " + path);
    FILE *f = std::fopen(path.c_str(), "rb");
    if (!f) fail(ErrorKind::Model, "cannot open model file: " + path);
    char magic[4] = {0, 0, 0, 0};
    size_t got = std::fread(magic, 1, 4, f);
    std::fclose(f);
    if (got < 4 || std::string(magic, 4) != "GGUF")
        fail(ErrorKind::Model, path + " is not a GGUF file (bad magic bytes)");
    gguf_init_params params{};
    params.no_alloc = true;
    params.ctx = nullptr;
    gguf_context *g = gguf_init_from_file(path.c_str(), params);
    if (!g) {
        std::string why = take_recent_log_errors();
        fail(ErrorKind::Model, path + " is a truncated or corrupt GGUF file" + (why.empty() ? "" : ": " + why));
    }
    std::string arch;
    int64_t key = gguf_find_key(g, "general.architecture");
    if (key >= 0 && gguf_get_kv_type(g, key) == GGUF_TYPE_STRING) arch = gguf_get_val_str(g, key);
    gguf_free(g);
    if (arch.empty()) fail(ErrorKind::Model, path + " has no general.architecture: not a model GGUF");
    return arch;
}

}  // namespace

Model::Model(const ModelOptions &opts) : opts_(opts) {
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
    if (opts.context_size < 64) fail(ErrorKind::Input, "context size must be at least 64");
    if (opts.batch_size < 1) fail(ErrorKind::Input, "batch size must be at least 1");

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
    if (opts.kv_f32) {
        cp.type_k = GGML_TYPE_F32;
        cp.type_v = GGML_TYPE_F32;
    }
    cp.abort_callback = abort_requested;
    cp.abort_callback_data = this;
    ctx_.reset(llama_init_from_model(model_.get(), cp));
    if (!ctx_) {
        std::string why = take_recent_log_errors();
        fail(ErrorKind::Model, "llama.cpp could not create a context for " + opts.path + (why.empty() ? "" : ": " + why));
    }
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

void Model::check_cancelled() const {
    if (cancelled()) fail(ErrorKind::Cancelled, "the operation was cancelled");
}

void Model::decode(Batch &batch) {
    check_cancelled();
    // llama.cpp aborts the process (GGML_ASSERT) on a batch larger than n_batch: never send one.
    if ((uint32_t)batch.size() > n_batch())
        fail(ErrorKind::Engine, "internal: batch of " + std::to_string(batch.size()) + " tokens exceeds n_batch");
    int32_t rc = llama_decode(ctx_.get(), batch.get());
    if (rc == 0) return;
    // The cache may hold part of the batch now: forget the prompt cache so the next call starts clean.
    llama_memory_clear(llama_get_memory(ctx_.get()), false);
    cached_prompt_.clear();
    if (rc == 2 || cancelled()) fail(ErrorKind::Cancelled, "the operation was cancelled");
    std::string why = take_recent_log_errors();
    if (rc == 1) fail(ErrorKind::Engine, "llama_decode found no KV slot (context too small for the batch)" + (why.empty() ? "" : ": " + why));
    fail(ErrorKind::Engine, "llama_decode failed with code " + std::to_string(rc) + (why.empty() ? "" : ": " + why));
}

}  // namespace labor
