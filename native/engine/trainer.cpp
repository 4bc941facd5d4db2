#include "trainer.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <memory>
#include <random>
#include <thread>

#include "errors.h"
#include "gguf.h"
#include "llama.h"
#include "log.h"
#include "model.h"

namespace labor {
namespace {

struct GgufDeleter {
    void operator()(gguf_context *g) const { gguf_free(g); }
};
struct GgmlContextDeleter {
    void operator()(ggml_context *c) const { ggml_free(c); }
};
struct DatasetDeleter {
    void operator()(ggml_opt_dataset *d) const { ggml_opt_dataset_free(d); }
};
struct ResultDeleter {
    void operator()(ggml_opt_result *r) const { ggml_opt_result_free(r); }
};
using GgufPtr = std::unique_ptr<gguf_context, GgufDeleter>;
using GgmlContextPtr = std::unique_ptr<ggml_context, GgmlContextDeleter>;
using DatasetPtr = std::unique_ptr<ggml_opt_dataset, DatasetDeleter>;
using ResultPtr = std::unique_ptr<ggml_opt_result, ResultDeleter>;

// A file removed when the handle goes out of scope, unless released (renamed into place).
class TempFile {
  public:
    explicit TempFile(std::string path) : path_(std::move(path)) {}
    ~TempFile() {
        if (!path_.empty()) std::remove(path_.c_str());
    }
    TempFile(const TempFile &) = delete;
    TempFile &operator=(const TempFile &) = delete;
    const std::string &path() const { return path_; }
    void release() { path_.clear(); }

  private:
    std::string path_;
};

std::string temp_path(const std::string &out, const char *tag) {
    static std::atomic<unsigned> counter{0};
    return out + ".train-" + std::to_string((long)getpid()) + "-" + std::to_string(counter++) + "-" + tag + ".tmp";
}

void rename_into_place(const std::string &from, const std::string &to) {
    if (std::rename(from.c_str(), to.c_str()) != 0)
        fail(ErrorKind::Input, "cannot move the checkpoint to " + to + ": " + std::strerror(errno));
}

bool ends_with(const std::string &s, const char *suffix) {
    const size_t n = std::strlen(suffix);
    return s.size() >= n && s.compare(s.size() - n, n, suffix) == 0;
}

// Whether the pinned llama.cpp updates a tensor: llama_set_param skips the token embeddings and
// rope_freqs, and the K and V projections get no gradient, because attention reads K and V back
// from the KV cache, a buffer the backward pass does not go through (upstream llama.cpp PR #28520).
bool trained_by_llama_cpp(const std::string &name) {
    if (name == "token_embd.weight" || name == "rope_freqs.weight") return false;
    for (const char *kv : {".attn_k.weight", ".attn_k.bias", ".attn_v.weight", ".attn_v.bias"})
        if (ends_with(name, kv)) return false;
    return true;
}

struct ModelFacts {
    int64_t trainable_params = 0;
};

// Decides from the GGUF header alone whether llama.cpp can train the file, so that nothing reaches a
// backward pass that would abort the process (f16/quantized weights have no OUT_PROD backward on
// CPU; mixture-of-experts and other architectures use ops without a backward pass).
ModelFacts inspect_trainable(const std::string &path) {
    struct stat st {};
    if (stat(path.c_str(), &st) != 0) fail(ErrorKind::Model, "model file not found: " + path);
    if (!S_ISREG(st.st_mode)) fail(ErrorKind::Model, "model path is not a file: " + path);
    FILE *f = std::fopen(path.c_str(), "rb");
    if (!f) fail(ErrorKind::Model, "cannot open model file: " + path);
    char magic[4] = {0, 0, 0, 0};
    size_t got = std::fread(magic, 1, 4, f);
    std::fclose(f);
    if (got < 4 || std::string(magic, 4) != "GGUF") fail(ErrorKind::Model, path + " is not a GGUF file (bad magic bytes)");
    gguf_init_params params{};
    params.no_alloc = true;
    params.ctx = nullptr;
    GgufPtr g(gguf_init_from_file(path.c_str(), params));
    if (!g) {
        std::string why = take_recent_log_errors();
        fail(ErrorKind::Model, path + " is a truncated or corrupt GGUF file" + (why.empty() ? "" : ": " + why));
    }
    std::string arch;
    int64_t key = gguf_find_key(g.get(), "general.architecture");
    if (key >= 0 && gguf_get_kv_type(g.get(), key) == GGUF_TYPE_STRING) arch = gguf_get_val_str(g.get(), key);
    if (arch != "llama") {
        fail(ErrorKind::Model, path + " has architecture \"" + (arch.empty() ? "(none)" : arch) +
                                   "\": local fine-tuning supports llama-architecture models only");
    }
    int64_t experts = gguf_find_key(g.get(), "llama.expert_count");
    if (experts >= 0 && gguf_get_kv_type(g.get(), experts) == GGUF_TYPE_UINT32 && gguf_get_val_u32(g.get(), experts) > 0) {
        fail(ErrorKind::Model, path + " is a mixture-of-experts model: llama.cpp cannot train expert layers");
    }
    ModelFacts facts;
    const int64_t n = gguf_get_n_tensors(g.get());
    if (n == 0) fail(ErrorKind::Model, path + " has no tensors");
    for (int64_t i = 0; i < n; ++i) {
        const char *name = gguf_get_tensor_name(g.get(), i);
        ggml_type type = gguf_get_tensor_type(g.get(), i);
        if (type != GGML_TYPE_F32) {
            fail(ErrorKind::Model, path + ": tensor " + name + " is " + ggml_type_name(type) +
                                       "; local fine-tuning needs f32 weights throughout (write the model with "
                                       "--outtype f32, or writeTinyLlama type 'f32')");
        }
        if (trained_by_llama_cpp(name)) facts.trainable_params += (int64_t)(gguf_get_tensor_size(g.get(), i) / sizeof(float));
    }
    return facts;
}

std::vector<llama_token> tokenize_with_bos(const llama_vocab *vocab, const std::string &text) {
    return tokenize(vocab, text, true);
}

// All texts of one split, tokenized and concatenated.
std::vector<llama_token> token_stream(const llama_vocab *vocab, const std::vector<std::string> &texts, const char *split,
                                      const StopFn &stop) {
    std::vector<llama_token> stream;
    const int32_t n_vocab = llama_vocab_n_tokens(vocab);
    for (size_t i = 0; i < texts.size(); ++i) {
        if (texts[i].empty()) fail(ErrorKind::Input, std::string(split) + " text " + std::to_string(i) + " is empty");
        if (i % 256 == 0 && stop()) fail(ErrorKind::Cancelled, "the operation was cancelled");
        std::vector<llama_token> t = tokenize_with_bos(vocab, texts[i]);
        for (llama_token tok : t)  // a label outside the vocabulary trips a GGML_ASSERT in the loss
            if (tok < 0 || tok >= n_vocab) fail(ErrorKind::Engine, "the tokenizer produced token " + std::to_string(tok) + " outside the vocabulary");
        stream.insert(stream.end(), t.begin(), t.end());
    }
    return stream;
}

struct StopState {
    const StopFn *stop;
};
bool abort_requested(void *data) { return (*static_cast<StopState *>(data)->stop)(); }

void check_options(const TrainOptions &o) {
    auto bad = [](const std::string &msg) { fail(ErrorKind::Input, msg); };
    if (o.out_path.empty()) bad("the output path is empty");
    if (o.train_texts.empty()) bad("there are no training texts");
    if (o.valid_texts.empty()) bad("there are no validation texts (the best checkpoint is chosen by validation loss)");
    if (o.epochs < 1 || o.epochs > 100000) bad("epochs must be between 1 and 100000, got " + std::to_string(o.epochs));
    // llama.cpp rounds every context up to a multiple of 256 tokens, and llama_opt_epoch takes the
    // window length from the context: only multiples of 256 give windows of the length asked for.
    if (o.context_length < 256 || o.context_length > 32768 || o.context_length % 256 != 0)
        bad("the context length must be a multiple of 256 tokens between 256 and 32768, got " + std::to_string(o.context_length));
    // ggml_opt_eval asserts these (aborting the process): check them here.
    if (!(std::isfinite(o.learning_rate) && o.learning_rate > 0 && o.learning_rate <= 1))
        bad("the learning rate must be in (0, 1], got " + std::to_string(o.learning_rate));
    if (!(o.weight_decay >= 0 && o.weight_decay <= 1)) bad("weight decay must be in [0, 1], got " + std::to_string(o.weight_decay));
    if (!(o.beta1 >= 0 && o.beta1 < 1)) bad("beta1 must be in [0, 1), got " + std::to_string(o.beta1));
    if (!(o.beta2 >= 0 && o.beta2 < 1)) bad("beta2 must be in [0, 1), got " + std::to_string(o.beta2));
    if (!(std::isfinite(o.eps) && o.eps >= 0)) bad("eps must be a finite number >= 0, got " + std::to_string(o.eps));
    if (o.threads < 0 || o.threads > 1024) bad("threads must be between 0 (all) and 1024, got " + std::to_string(o.threads));
}

// Checks early that the output's folder takes files, so an hour of training never ends in EACCES.
void probe_output(const TrainOptions &o) {
    struct stat a {}, b {};
    if (stat(o.out_path.c_str(), &a) == 0 && stat(o.model_path.c_str(), &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino)
        fail(ErrorKind::Input, "the output " + o.out_path + " is the model being trained: choose another path");
    if (stat(o.out_path.c_str(), &a) == 0 && S_ISDIR(a.st_mode)) fail(ErrorKind::Input, "the output " + o.out_path + " is a folder");
    TempFile probe(temp_path(o.out_path, "probe"));
    FILE *f = std::fopen(probe.path().c_str(), "wb");
    if (!f) fail(ErrorKind::Input, "cannot write next to the output " + o.out_path + ": " + std::strerror(errno));
    std::fclose(f);
}

// The trained weights under the original file's metadata. llama_model_save_to_file rebuilds the
// metadata from the loaded model, which loses keys (and llama_opt_init has set context_length to the
// training window), so its tensors are copied into a GGUF that keeps every original key and the
// original tensor order. The file appears at `dest` by rename only once it is complete.
void write_checkpoint(llama_model *model, const std::string &original, const std::string &dest) {
    TempFile raw(temp_path(dest, "raw"));
    TempFile merged(temp_path(dest, "gguf"));
    take_recent_log_errors();
    llama_model_save_to_file(model, raw.path().c_str());

    ggml_context *tensors_ctx = nullptr;
    gguf_init_params load{};
    load.no_alloc = false;
    load.ctx = &tensors_ctx;
    GgufPtr saved(gguf_init_from_file(raw.path().c_str(), load));
    GgmlContextPtr tensors(tensors_ctx);
    if (!saved) {
        std::string why = take_recent_log_errors();
        fail(ErrorKind::Engine, "could not write the checkpoint (disk full?)" + (why.empty() ? "" : ": " + why));
    }
    gguf_init_params meta{};
    meta.no_alloc = true;
    meta.ctx = nullptr;
    GgufPtr orig(gguf_init_from_file(original.c_str(), meta));
    if (!orig) fail(ErrorKind::Model, "the model file " + original + " changed during training: cannot read it back");

    GgufPtr out(gguf_init_empty());
    gguf_set_kv(out.get(), orig.get());
    const int64_t n = gguf_get_n_tensors(orig.get());
    for (int64_t i = 0; i < n; ++i) {
        const char *name = gguf_get_tensor_name(orig.get(), i);
        ggml_tensor *t = ggml_get_tensor(tensors.get(), name);
        if (t == nullptr)
            fail(ErrorKind::Engine, std::string("the trained model has no tensor ") + name + " (llama.cpp did not load it)");
        if (t->type != gguf_get_tensor_type(orig.get(), i) || ggml_nbytes(t) != gguf_get_tensor_size(orig.get(), i))
            fail(ErrorKind::Engine, std::string("the trained tensor ") + name + " differs in type or size from the original");
        gguf_add_tensor(out.get(), t);
    }
    if (!gguf_write_to_file(out.get(), merged.path().c_str(), false))
        fail(ErrorKind::Engine, "could not write the checkpoint " + merged.path() + ": " + std::strerror(errno));
    rename_into_place(merged.path(), dest);
    merged.release();
}

double result_loss(ggml_opt_result_t r) {
    double loss = 0, unc = 0;
    ggml_opt_result_loss(r, &loss, &unc);
    return loss;
}

double result_accuracy(ggml_opt_result_t r) {
    double acc = 0, unc = 0;
    ggml_opt_result_accuracy(r, &acc, &unc);
    return acc;
}

// Draws the next epoch's order of the training windows.
void shuffle(std::vector<int64_t> &v, std::mt19937_64 &rng) {
    for (size_t i = v.size(); i > 1; --i) {
        // Rejection sampling: a uniform index in [0, i) with no modulo bias, identical on every platform.
        const uint64_t bound = (uint64_t)i;
        const uint64_t limit = std::numeric_limits<uint64_t>::max() - std::numeric_limits<uint64_t>::max() % bound;
        uint64_t x;
        do x = rng();
        while (x >= limit);
        std::swap(v[i - 1], v[(size_t)(x % bound)]);
    }
}

}  // namespace

std::vector<int64_t> plan_windows(int64_t stream_tokens, int32_t n_ctx) {
    std::vector<int64_t> starts;
    if (n_ctx < 1 || stream_tokens < (int64_t)n_ctx + 1) return starts;
    int64_t s = 0;
    for (; s + n_ctx + 1 <= stream_tokens; s += n_ctx) starts.push_back(s);
    // Labels run up to starts.back() + n_ctx; one end-aligned window covers what is left.
    if (starts.back() + n_ctx < stream_tokens - 1) starts.push_back(stream_tokens - n_ctx - 1);
    return starts;
}

TrainResult train(const TrainOptions &opts, const TrainProgressFn &progress, const StopFn &stop) {
    using clock = std::chrono::steady_clock;
    const auto t0 = clock::now();
    auto elapsed_ms = [&] { return std::chrono::duration<double, std::milli>(clock::now() - t0).count(); };
    auto check_stop = [&] {
        if (stop()) fail(ErrorKind::Cancelled, "the operation was cancelled");
    };

    install_log_handler();
    take_recent_log_errors();
    check_options(opts);
    const ModelFacts facts = inspect_trainable(opts.model_path);
    probe_output(opts);
    check_stop();

    TrainResult res;
    res.out_path = opts.out_path;
    res.trainable_params = facts.trainable_params;
    res.threads = opts.threads > 0 ? opts.threads : (int)std::max(1u, std::thread::hardware_concurrency());
    const int32_t n_ctx = opts.context_length;
    res.context_length = n_ctx;

    // Weights must be writable in memory: no mmap, no repacked buffers.
    llama_model_params mp = llama_model_default_params();
    mp.n_gpu_layers = opts.gpu_layers;
    mp.load_mode = LLAMA_LOAD_MODE_NONE;
    mp.use_extra_bufts = false;
    std::unique_ptr<llama_model, ModelDeleter> model(llama_model_load_from_file(opts.model_path.c_str(), mp));
    if (!model) {
        std::string why = take_recent_log_errors();
        fail(ErrorKind::Model, "llama.cpp could not load " + opts.model_path + (why.empty() ? "" : ": " + why));
    }
    const llama_vocab *vocab = llama_model_get_vocab(model.get());

    const std::vector<llama_token> train_stream = token_stream(vocab, opts.train_texts, "training", stop);
    const std::vector<llama_token> valid_stream = token_stream(vocab, opts.valid_texts, "validation", stop);
    res.train_texts = (int64_t)opts.train_texts.size();
    res.valid_texts = (int64_t)opts.valid_texts.size();
    res.train_tokens = (int64_t)train_stream.size();
    res.valid_tokens = (int64_t)valid_stream.size();
    std::vector<int64_t> train_windows = plan_windows(res.train_tokens, n_ctx);
    const std::vector<int64_t> valid_windows = plan_windows(res.valid_tokens, n_ctx);
    auto too_short = [&](const char *split, int64_t tokens) {
        fail(ErrorKind::Input, std::string("the ") + split + " texts make " + std::to_string(tokens) +
                                   " tokens, fewer than one window of context length + 1 = " + std::to_string(n_ctx + 1) +
                                   ": lower the context length or add texts");
    };
    if (train_windows.empty()) too_short("training", res.train_tokens);
    if (valid_windows.empty()) too_short("validation", res.valid_tokens);
    res.train_windows = (int64_t)train_windows.size();
    res.valid_windows = (int64_t)valid_windows.size();

    StopState stop_state{&stop};
    llama_context_params cp = llama_context_default_params();
    cp.n_ctx = (uint32_t)n_ctx;
    // One window per llama_opt_epoch step: llama_opt_init asserts n_ctx % n_batch == 0 and
    // n_batch % n_ubatch == 0; n_batch = n_ubatch = n_ctx makes both hold and gives one optimizer
    // step per window with exact gradients (no truncation at a micro-batch boundary).
    cp.n_batch = (uint32_t)n_ctx;
    cp.n_ubatch = (uint32_t)n_ctx;
    cp.n_seq_max = 1;
    cp.n_threads = res.threads;
    cp.n_threads_batch = res.threads;
    cp.flash_attn_type = LLAMA_FLASH_ATTN_TYPE_DISABLED;  // FLASH_ATTN_EXT has no backward pass
    cp.type_k = GGML_TYPE_F32;                             // OUT_PROD has no f16 backward on CPU
    cp.type_v = GGML_TYPE_F32;
    cp.no_perf = true;
    cp.abort_callback = abort_requested;
    cp.abort_callback_data = &stop_state;
    std::unique_ptr<llama_context, ContextDeleter> ctx(llama_init_from_model(model.get(), cp));
    if (!ctx) {
        std::string why = take_recent_log_errors();
        fail(ErrorKind::Model, "llama.cpp could not create a training context for " + opts.model_path + (why.empty() ? "" : ": " + why));
    }
    if ((int32_t)llama_n_ctx(ctx.get()) != n_ctx || (int32_t)llama_n_batch(ctx.get()) != n_ctx ||
        (int32_t)llama_n_ubatch(ctx.get()) != n_ctx) {
        fail(ErrorKind::Engine, "llama.cpp changed the training context size to " + std::to_string(llama_n_ctx(ctx.get())));
    }

    // ggml_opt computes through the context's scheduler directly, and the CPU backend's thread count
    // is only set by llama_decode: one decode of a single token sets it to ours.
    {
        Batch warm(1, 1);
        warm.add(train_stream[0], 0, 0, 0, true);
        int32_t rc = llama_decode(ctx.get(), warm.get());
        check_stop();
        if (rc != 0) {
            std::string why = take_recent_log_errors();
            fail(ErrorKind::Engine, "llama_decode failed with code " + std::to_string(rc) + (why.empty() ? "" : ": " + why));
        }
        llama_memory_clear(llama_get_memory(ctx.get()), true);
    }

    ggml_opt_optimizer_params pars = ggml_opt_get_default_optimizer_params(nullptr);
    pars.adamw.alpha = (float)opts.learning_rate;
    pars.adamw.beta1 = (float)opts.beta1;
    pars.adamw.beta2 = (float)opts.beta2;
    pars.adamw.eps = (float)opts.eps;
    pars.adamw.wd = (float)opts.weight_decay;
    llama_opt_params lp{};
    lp.n_ctx_train = 0;  // the context's n_ctx
    lp.param_filter = llama_opt_param_filter_all;
    lp.param_filter_ud = nullptr;
    lp.get_opt_pars = ggml_opt_get_constant_optimizer_params;
    lp.get_opt_pars_ud = &pars;
    lp.optimizer_type = GGML_OPT_OPTIMIZER_TYPE_ADAMW;
    llama_opt_init(ctx.get(), model.get(), lp);

    // A one-window dataset, refilled for every step: the order and the train/validation split stay
    // ours, and cancellation is checked between windows (and inside one by the abort callback).
    DatasetPtr dataset(ggml_opt_dataset_init(GGML_TYPE_I32, GGML_TYPE_I32, n_ctx, n_ctx, 1, 1));
    if (!dataset) fail(ErrorKind::Engine, "could not allocate the training dataset");
    auto *data = static_cast<llama_token *>(ggml_opt_dataset_data(dataset.get())->data);
    auto *labels = static_cast<llama_token *>(ggml_opt_dataset_labels(dataset.get())->data);
    ResultPtr train_result(ggml_opt_result_init());
    ResultPtr valid_result(ggml_opt_result_init());

    int32_t epoch = 0;
    auto run_window = [&](const std::vector<llama_token> &stream, int64_t start, bool training) {
        std::memcpy(data, stream.data() + start, sizeof(llama_token) * n_ctx);
        std::memcpy(labels, stream.data() + start + 1, sizeof(llama_token) * n_ctx);
        ggml_opt_result_t r = training ? train_result.get() : valid_result.get();
        int64_t before = 0, after = 0;
        ggml_opt_result_ndata(r, &before);
        llama_opt_epoch(ctx.get(), dataset.get(), training ? r : nullptr, training ? nullptr : r, training ? 1 : 0, nullptr, nullptr);
        check_stop();
        ggml_opt_result_ndata(r, &after);
        // llama_opt_epoch reports a failed batch only in the log and returns: notice it here.
        if (after == before) {
            std::string why = take_recent_log_errors();
            fail(ErrorKind::Engine, "llama.cpp could not evaluate a training window" + (why.empty() ? "" : ": " + why));
        }
        const double loss = result_loss(r);
        if (!std::isfinite(loss)) {
            fail(ErrorKind::Engine, std::string("the ") + (training ? "training" : "validation") + " loss is not finite at epoch " +
                                        std::to_string(epoch) + ": training diverged; lower the learning rate");
        }
        return loss;
    };

    auto validate = [&]() {
        ggml_opt_result_reset(valid_result.get());
        TrainProgress p;
        p.phase = TrainProgress::Phase::Validate;
        p.epoch = epoch;
        p.windows = (int64_t)valid_windows.size();
        for (size_t k = 0; k < valid_windows.size(); ++k) {
            p.loss = run_window(valid_stream, valid_windows[k], false);
            p.window = (int64_t)k + 1;
            p.elapsed_ms = elapsed_ms();
            progress(p);
        }
        return result_loss(valid_result.get());
    };

    res.initial_val_loss = validate();
    res.initial_val_accuracy = result_accuracy(valid_result.get());
    {
        TrainProgress p;
        p.phase = TrainProgress::Phase::Epoch;
        p.epoch = 0;
        p.train_loss = std::numeric_limits<double>::quiet_NaN();
        p.val_loss = res.initial_val_loss;
        p.elapsed_ms = elapsed_ms();
        progress(p);
    }

    TempFile best(temp_path(opts.out_path, "best"));
    double best_loss = std::numeric_limits<double>::infinity();
    std::mt19937_64 rng(opts.seed);
    std::vector<int64_t> order = train_windows;
    for (epoch = 1; epoch <= opts.epochs; ++epoch) {
        const auto e0 = clock::now();
        ggml_opt_result_reset(train_result.get());
        order = train_windows;
        shuffle(order, rng);
        TrainProgress p;
        p.phase = TrainProgress::Phase::Train;
        p.epoch = epoch;
        p.windows = (int64_t)order.size();
        for (size_t k = 0; k < order.size(); ++k) {
            p.loss = run_window(train_stream, order[k], true);
            p.window = (int64_t)k + 1;
            p.elapsed_ms = elapsed_ms();
            progress(p);
        }
        EpochSummary s;
        s.epoch = epoch;
        s.train_loss = result_loss(train_result.get());
        s.val_loss = validate();
        s.val_accuracy = result_accuracy(valid_result.get());
        s.improved = s.val_loss < best_loss;
        if (s.improved) {
            write_checkpoint(model.get(), opts.model_path, best.path());
            best_loss = s.val_loss;
            res.best_epoch = epoch;
            res.best_val_loss = s.val_loss;
        }
        s.seconds = std::chrono::duration<double>(clock::now() - e0).count();
        res.history.push_back(s);
        TrainProgress e;
        e.phase = TrainProgress::Phase::Epoch;
        e.epoch = epoch;
        e.train_loss = s.train_loss;
        e.val_loss = s.val_loss;
        e.improved = s.improved;
        e.elapsed_ms = elapsed_ms();
        progress(e);
        check_stop();
    }
    rename_into_place(best.path(), opts.out_path);
    best.release();
    res.seconds = elapsed_ms() / 1000.0;
    return res;
}

}  // namespace labor
