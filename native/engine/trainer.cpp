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

#include "epoch_log.h"
#include "errors.h"
#include "gguf_file.h"
#include "ggml-cpu.h"
#include "ggml-opt.h"
#include "llama.h"
#include "lm_train_graph.h"
#include "log.h"
#include "model.h"

namespace labor {
namespace {

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

// Decides from the GGUF header alone whether the trainer can take the file, so that nothing reaches a
// backward pass that would abort the process (f16/quantized weights have no OUT_PROD backward on
// CPU; mixture-of-experts and other architectures need ops the training graph does not build).
void inspect_trainable(const std::string &path) {
    GgufPtr g = open_gguf(path, "model", ErrorKind::Model);
    const std::string arch = gguf_string(g.get(), "general.architecture");
    if (arch != "llama") {
        fail(ErrorKind::Model, path + " has architecture \"" + (arch.empty() ? "(none)" : arch) +
                                   "\": local fine-tuning supports llama-architecture models only");
    }
    int64_t experts = gguf_find_key(g.get(), "llama.expert_count");
    if (experts >= 0 && gguf_get_kv_type(g.get(), experts) == GGUF_TYPE_UINT32 && gguf_get_val_u32(g.get(), experts) > 0) {
        fail(ErrorKind::Model, path + " is a mixture-of-experts model: llama.cpp cannot train expert layers");
    }
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
    }
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

bool abort_requested(void *data) { return (*static_cast<const StopFn *>(data))(); }

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

// One training or validation step: a freshly built graph over one window (ggml_opt's dynamic mode,
// as llama.cpp uses it: the graph's size is ours, not GGML_DEFAULT_GRAPH_SIZE).
class StepGraph {
  public:
    StepGraph(const LmTrainModel &model, int32_t n_ctx) : model_(model), n_ctx_(n_ctx) {
        const int64_t layers = model.hparams().n_layer;
        // Forward ~30 nodes a layer; the backward and optimizer graphs a few times that.
        graph_size_ = (size_t)(2048 + 512 * layers);
        meta_.resize(2 * graph_size_ * ggml_tensor_overhead() + 3 * ggml_graph_overhead_custom(graph_size_, true));
        labels_.assign((size_t)n_ctx * (size_t)model.hparams().n_vocab, 0.0f);
        positions_.resize((size_t)n_ctx);
        for (int32_t i = 0; i < n_ctx; ++i) positions_[(size_t)i] = i;
    }

    // Runs the window stream[start .. start + n_ctx] (inputs) -> [start + 1 .. start + n_ctx + 1] (labels).
    void run(ggml_opt_context_t opt, ggml_opt_result_t result, const std::vector<llama_token> &stream, int64_t start, bool training) {
        ggml_init_params ip{};
        ip.mem_size = meta_.size();
        ip.mem_buffer = meta_.data();
        ip.no_alloc = true;
        GgmlContextPtr ctx(ggml_init(ip));
        if (!ctx) fail(ErrorKind::Engine, "could not create the training graph");
        ggml_tensor *tokens = ggml_new_tensor_2d(ctx.get(), GGML_TYPE_I32, n_ctx_, 1);
        ggml_set_input(tokens);
        ggml_tensor *positions = ggml_new_tensor_1d(ctx.get(), GGML_TYPE_I32, n_ctx_);
        ggml_set_input(positions);
        ggml_tensor *logits = model_.build_logits(ctx.get(), tokens, positions);
        ggml_cgraph *gf = ggml_new_graph_custom(ctx.get(), graph_size_, true);
        ggml_build_forward_expand(gf, logits);
        ggml_opt_prepare_alloc(opt, ctx.get(), gf, tokens, logits);
        ggml_opt_alloc(opt, training);
        if (training) {
            // ggml-opt's dynamic graphs add each step's gradients into persistent accumulators and, with
            // one step per optimizer update, never clear them: without this, AdamW would follow the sum
            // of every gradient so far (measured: the loss climbs after a few epochs).
            for (ggml_tensor *p : model_.params())
                if (ggml_tensor *acc = ggml_opt_grad_acc(opt, p)) ggml_backend_tensor_memset(acc, 0, 0, ggml_nbytes(acc));
        }
        ggml_backend_tensor_set(tokens, stream.data() + start, 0, sizeof(llama_token) * (size_t)n_ctx_);
        ggml_backend_tensor_set(positions, positions_.data(), 0, sizeof(int32_t) * (size_t)n_ctx_);
        // One-hot labels (ggml's cross-entropy takes target distributions): set this window's ones,
        // upload, clear them again.
        const size_t V = (size_t)model_.hparams().n_vocab;
        for (int32_t i = 0; i < n_ctx_; ++i) labels_[(size_t)i * V + (size_t)stream[(size_t)(start + 1 + i)]] = 1.0f;
        ggml_backend_tensor_set(ggml_opt_labels(opt), labels_.data(), 0, labels_.size() * sizeof(float));
        for (int32_t i = 0; i < n_ctx_; ++i) labels_[(size_t)i * V + (size_t)stream[(size_t)(start + 1 + i)]] = 0.0f;
        ggml_opt_eval(opt, result);
    }

    size_t graph_size() const { return graph_size_; }

  private:
    const LmTrainModel &model_;
    int32_t n_ctx_;
    size_t graph_size_;
    std::vector<uint8_t> meta_;
    std::vector<float> labels_;
    std::vector<int32_t> positions_;
};

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
    EpochLog<TrainProgress> epochs(progress, stop);  // the run's clock, stop check and best epoch
    auto elapsed_ms = [&] { return epochs.elapsed_ms(); };
    auto check_stop = [&] { epochs.check_stop(); };

    install_log_handler();
    take_recent_log_errors();
    opts.validate();
    inspect_trainable(opts.model_path);
    probe_output(opts);
    check_stop();

    TrainResult res;
    res.out_path = opts.out_path;
    res.threads = opts.threads > 0 ? opts.threads : (int)std::max(1u, std::thread::hardware_concurrency());
    const int32_t n_ctx = opts.context_length;
    res.context_length = n_ctx;

    // The tokenizer is llama.cpp's (the same one that scores the model later); the weights are ours.
    llama_model_params mp = llama_model_default_params();
    mp.vocab_only = true;
    std::unique_ptr<llama_model, ModelDeleter> vocab_model(llama_model_load_from_file(opts.model_path.c_str(), mp));
    if (!vocab_model) {
        std::string why = take_recent_log_errors();
        fail(ErrorKind::Model, "llama.cpp could not load " + opts.model_path + (why.empty() ? "" : ": " + why));
    }
    const llama_vocab *vocab = llama_model_get_vocab(vocab_model.get());

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

    // Backends: the CPU, and before it a GPU when one is asked for and the build has one (ggml_opt
    // keeps its optimizer state on the first backend; the weights live there too).
    std::vector<BackendPtr> backends;
    if (opts.gpu_layers != 0) {
        if (ggml_backend_dev_t gpu = ggml_backend_dev_by_type(GGML_BACKEND_DEVICE_TYPE_GPU)) backends.emplace_back(ggml_backend_dev_init(gpu, nullptr));
    }
    BackendPtr cpu(ggml_backend_init_by_type(GGML_BACKEND_DEVICE_TYPE_CPU, nullptr));
    if (!cpu) fail(ErrorKind::Engine, "could not start ggml's CPU backend");
    ggml_backend_cpu_set_n_threads(cpu.get(), res.threads);
    ggml_backend_cpu_set_abort_callback(cpu.get(), abort_requested, const_cast<StopFn *>(&stop));
    backends.push_back(std::move(cpu));
    std::vector<ggml_backend_t> raw;
    for (auto &b : backends) raw.push_back(b.get());

    LmTrainModel model(opts.model_path, raw[0]);
    res.trainable_params = model.parameter_count();
    check_stop();
    StepGraph step(model, n_ctx);
    SchedPtr sched(ggml_backend_sched_new(raw.data(), nullptr, (int)raw.size(), step.graph_size(), false, true));
    if (!sched) fail(ErrorKind::Engine, "could not create the training scheduler");

    ScheduledAdamW adamw;
    adamw.schedule.peak = opts.learning_rate;
    adamw.schedule.decay = opts.lr_decay;
    adamw.schedule.min_ratio = opts.min_lr_ratio;
    adamw.schedule.total = (int64_t)opts.epochs * res.train_windows;
    adamw.schedule.warmup = std::llround(opts.warmup_ratio * (double)adamw.schedule.total);
    adamw.base = ggml_opt_get_default_optimizer_params(nullptr);
    adamw.base.adamw.beta1 = (float)opts.beta1;
    adamw.base.adamw.beta2 = (float)opts.beta2;
    adamw.base.adamw.eps = (float)opts.eps;
    adamw.base.adamw.wd = (float)opts.weight_decay;
    ggml_opt_params op = ggml_opt_default_params(sched.get(), GGML_OPT_LOSS_TYPE_CROSS_ENTROPY);
    op.build_type = GGML_OPT_BUILD_TYPE_OPT;
    op.opt_period = 1;
    op.get_opt_pars = ScheduledAdamW::params;
    op.get_opt_pars_ud = &adamw;
    op.optimizer = GGML_OPT_OPTIMIZER_TYPE_ADAMW;
    OptPtr opt(ggml_opt_init(op));
    if (!opt) fail(ErrorKind::Engine, "could not create the optimizer");

    OptResultPtr train_result(ggml_opt_result_init());
    OptResultPtr valid_result(ggml_opt_result_init());

    int32_t epoch = 0;
    auto run_window = [&](const std::vector<llama_token> &stream, int64_t start, bool training) {
        ggml_opt_result_t r = training ? train_result.get() : valid_result.get();
        step.run(opt.get(), r, stream, start, training);
        check_stop();  // an aborted graph leaves a meaningless loss: stop before reading it
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
    epochs.initial(res.initial_val_loss);

    TempFile best(temp_path(opts.out_path, "best"));
    std::mt19937_64 rng(opts.seed);
    std::vector<int64_t> order = train_windows;
    for (epoch = 1; epoch <= opts.epochs; ++epoch) {
        const auto e0 = std::chrono::steady_clock::now();
        ggml_opt_result_reset(train_result.get());
        order = train_windows;
        shuffle(order, rng);
        TrainProgress p;
        p.phase = TrainProgress::Phase::Train;
        p.epoch = epoch;
        p.windows = (int64_t)order.size();
        for (size_t k = 0; k < order.size(); ++k) {
            p.lr = adamw.next_rate();
            p.loss = run_window(train_stream, order[k], true);
            adamw.advance();
            p.window = (int64_t)k + 1;
            p.elapsed_ms = elapsed_ms();
            progress(p);
        }
        EpochSummary s;
        s.epoch = epoch;
        s.train_loss = result_loss(train_result.get());
        s.val_loss = validate();
        s.val_accuracy = result_accuracy(valid_result.get());
        epochs.close(s, res, e0, [&] {
            // Written complete under a temporary name, then renamed over the previous best.
            TempFile staged(temp_path(opts.out_path, "gguf"));
            model.save(opts.model_path, staged.path());
            rename_into_place(staged.path(), best.path());
            staged.release();
        });
        check_stop();
    }
    rename_into_place(best.path(), opts.out_path);
    best.release();
    res.seconds = elapsed_ms() / 1000.0;
    return res;
}

}  // namespace labor
