// Local fine-tuning: full-parameter AdamW over every weight of a small llama GGUF, the token
// embeddings and the attention's K and V projections included, on packed windows of the training
// texts; validation loss every epoch; the best epoch's weights written as a GGUF. The training graph
// is ours (lm_train_graph.h) over ggml's optimizer (ggml-opt), not llama.cpp's llama_opt_*, whose
// attention gives K and V no gradient and which leaves the token embeddings frozen.
//
// Data: every text is tokenized with BOS (llama.cpp's tokenizer of the model, the model's special-
// token rule) and the token lists are concatenated into one stream, training texts and validation
// texts separately. The stream is cut into windows of n_ctx inputs and the n_ctx next tokens as
// labels (n_ctx + 1 tokens), starting at 0, n_ctx, 2 n_ctx, ...; when the stream does not end on a
// window boundary, one more window is aligned with the stream's end, so every token after the first
// is a label at least once (the few tokens of that last overlap count twice). Windows cross text
// boundaries: a text attends to the end of the one before it, as in any packed language-model
// training; the BOS that starts each text marks the boundary. One window is one optimizer step.
//
// Loss: ggml's cross-entropy, the mean negative log-likelihood in nats per label token of a window;
// an epoch's train (or validation) loss is the mean over its windows.
//
// Learning rate: AdamW's rate follows the schedule of the options (lr_schedule.h), step by step.
//
// Determinism: training windows are visited in an order drawn from a seeded mt19937_64 each epoch
// (our own Fisher-Yates, not std::shuffle, whose algorithm is the library's); nothing else is random.
// With one thread the same inputs and seed give bit-identical weights.
//
// What trains: every tensor of the file but rope_freqs.weight (RoPE frequency factors, constants).
// Models must be llama architecture with f32 weights throughout and no tensors outside the llama
// layout (biases, experts); anything else is refused before training.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "lr_schedule.h"
#include "options.h"

namespace labor {

// Window lengths the trainer takes: the attention scores of a window, [n_ctx x n_ctx x heads] floats,
// are kept for the backward pass.
constexpr int kMinContext = 16;
constexpr int kMaxContext = 4096;

// A fine-tuning run (the addon's train; the TypeScript LocalFinetuneOptions without the callbacks).
struct TrainOptions {
    std::string model_path;
    std::string out_path;  // the best checkpoint, written once the run has finished
    std::vector<std::string> train_texts;
    std::vector<std::string> valid_texts;
    int epochs = 3;
    int context_length = 256;  // tokens per window (n_ctx)
    double learning_rate = 1e-3;  // the schedule's peak; ggml_opt_eval asserts (0, 1] (aborting the process): checked first
    // Learning-rate schedule (lr_schedule.h) over the run's epochs * windows steps: linear warm-up
    // over warmup_ratio of them (rounded), then constant, linear or cosine decay to
    // learning_rate * min_lr_ratio. A share, not a count, so that one setting suits runs of any size.
    LrDecay lr_decay = LrDecay::Constant;
    double warmup_ratio = 0;
    double min_lr_ratio = 0;
    double weight_decay = 0.0;  // AdamW's decoupled decay
    double beta1 = 0.9;         // AdamW's moments and epsilon: not options (the addon does not read them)
    double beta2 = 0.999;
    double eps = 1e-8;
    uint64_t seed = 0;   // the order of the training windows
    int threads = 0;     // 0: all hardware threads
    int gpu_layers = 0;  // non-zero: train on the build's GPU (if it has one), weights and all

    template <class V, class O>
    static void fields(V &v, O &o) {
        v.value("model", o.model_path);
        v.value("out", o.out_path);
        v.value("trainTexts", o.train_texts);
        v.value("validTexts", o.valid_texts);
        v.integer("epochs", o.epochs, {1, 100000});
        v.integer("contextLength", o.context_length, {kMinContext, kMaxContext});
        v.real("learningRate", o.learning_rate, options::kUnitOpenBottom);
        v.choice("lrDecay", o.lr_decay, {{"constant", LrDecay::Constant}, {"linear", LrDecay::Linear}, {"cosine", LrDecay::Cosine}});
        v.real("warmupRatio", o.warmup_ratio, options::kUnitOpenTop);
        v.real("minLrRatio", o.min_lr_ratio, options::kUnit);
        v.real("weightDecay", o.weight_decay, options::kUnit);
        v.integer("seed", o.seed, {0, options::kSafeIntegerMax});
        v.integer("threads", o.threads, {0, 1024});
        v.integer("gpuLayers", o.gpu_layers, {-1, options::kInt32Max});
    }
    void validate() const {
        options::require("model", model_path, "a file path");
        options::require("out", out_path, "a file path");
        check_texts("trainTexts", train_texts, "train on");
        check_texts("validTexts", valid_texts, "validate on");
        options::check_ranges(*this);
        if (!(beta1 >= 0 && beta1 < 1 && beta2 >= 0 && beta2 < 1 && std::isfinite(eps) && eps >= 0))
            fail(ErrorKind::Input, "AdamW needs beta1 and beta2 in [0, 1) and a finite eps >= 0");
    }

  private:
    static void check_texts(const char *name, const std::vector<std::string> &texts, const char *what) {
        if (texts.empty()) fail(ErrorKind::Input, std::string(name) + " is empty: there is nothing to " + what);
        for (size_t i = 0; i < texts.size(); ++i)
            if (texts[i].empty()) fail(ErrorKind::Input, std::string(name) + "[" + std::to_string(i) + "] is an empty text");
    }
};

struct TrainProgress {
    enum class Phase : int32_t { Train = 0, Validate = 1, Epoch = 2 };
    Phase phase = Phase::Train;
    int32_t epoch = 0;        // 1-based; 0 is the validation of the untrained model
    int64_t window = 0;       // windows done in this phase (Train / Validate)
    int64_t windows = 0;      // windows in this phase
    double loss = 0;          // running mean loss of this phase so far (Train / Validate)
    double lr = 0;            // Train: the learning rate of the window's optimizer step
    double train_loss = 0;    // Epoch: the epoch's mean train loss (NaN for epoch 0)
    double val_loss = 0;      // Epoch: validation loss after the epoch
    bool improved = false;    // Epoch: the best validation loss so far (checkpoint kept)
    double elapsed_ms = 0;    // since the start of train()
};

struct EpochSummary {
    int32_t epoch = 0;
    double train_loss = 0;
    double val_loss = 0;
    double val_accuracy = 0;  // share of validation labels that are the model's top token
    double seconds = 0;
    bool improved = false;
};

struct TrainResult {
    int32_t best_epoch = 0;
    double best_val_loss = 0;
    double initial_val_loss = 0;
    double initial_val_accuracy = 0;
    std::vector<EpochSummary> history;
    int64_t train_texts = 0, valid_texts = 0;
    int64_t train_tokens = 0, valid_tokens = 0;
    int64_t train_windows = 0, valid_windows = 0;
    int32_t context_length = 0;
    int64_t trainable_params = 0;  // elements of the tensors training changes (all but rope_freqs)
    int32_t threads = 0;
    double seconds = 0;
    std::string out_path;
};

// Start offsets of the windows over a stream of `stream_tokens` tokens (see the header comment).
// Empty when the stream is shorter than n_ctx + 1 tokens.
std::vector<int64_t> plan_windows(int64_t stream_tokens, int32_t n_ctx);

using TrainProgressFn = std::function<void(const TrainProgress &)>;
using StopFn = std::function<bool()>;

// Runs the whole fine-tune. Throws EngineException: Input (bad options, too few tokens, unwritable
// output), Model (a file the trainer cannot train), Cancelled (stop() became true; nothing is
// written), Engine (llama.cpp failures, a diverging loss). Temporary files never outlive the call.
TrainResult train(const TrainOptions &opts, const TrainProgressFn &progress, const StopFn &stop);

}  // namespace labor
