// Training CAREER with ggml's optimizer (ggml-opt: AdamW) on the CPU backend.
//
// One optimizer step is one batch of workers (padded to the batch's longest worker); the loss is
// the mean cross-entropy of the batch's real records (the graph's output rows are only those).
// Learning rate: fairseq's inverse_sqrt schedule, as CAREER trains: linear warm-up from
// warmup_init_lr to lr over `warmup` steps, then lr * sqrt(warmup / step). After every epoch the
// validation loss (mean negative log-likelihood per record, no dropout) is computed; the weights of
// the best epoch are written to out_path (a GGUF, career_gguf.h) once the run is over, by rename:
// a failed or cancelled run leaves no file.
//
// Determinism: initial weights, batch order and dropout masks come from `seed` (career_random.h);
// with one thread the same inputs give bit-identical files.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "career_data.h"
#include "career_forward.h"
#include "career_gguf.h"
#include "career_model.h"

namespace labor::career {

// A CAREER training run (the addon's careerTrain; the TypeScript NativeCareerTrainOptions).
struct TrainOptions {
    Config config;          // the shape of a new model (with init_path: the file's, checked against the data)
    std::string init_path;  // continue training this CAREER model instead of a fresh one
    std::string out_path;
    Dataset train, valid;
    Metadata meta;          // written into the file besides the hyperparameters
    int32_t epochs = 10;    // 0: write the initial weights (tests, pretrain-then-fine-tune setups)
    int32_t batch = 32;     // workers per optimizer step
    double learning_rate = 5e-4;
    double warmup_init_lr = 1e-7;  // not an option (the addon does not read it)
    int64_t warmup = -1;    // steps; -1: one epoch's steps, at most 4000 (fairseq's CAREER value)
    double beta1 = 0.9, beta2 = 0.98, eps = 1e-8;  // not options either
    double weight_decay = 0.01;
    float dropout = 0.1f;
    uint64_t seed = 0;
    int threads = 0;        // 0: all hardware threads
    int64_t max_steps = 0;  // stop each epoch after this many steps (0: the whole epoch)

    template <class V, class O>
    static void fields(V &v, O &o) {
        Config::fields(v, o.config);  // the shape's keys sit at the top level: {layers, width, ..., out, train}
        v.value("init", o.init_path);
        v.value("out", o.out_path);
        v.value("train", o.train);
        v.value("valid", o.valid);
        v.value("meta", o.meta);
        v.integer("epochs", o.epochs, {0, 100000});
        v.integer("batch", o.batch, {1, 65536});
        v.real("learningRate", o.learning_rate, options::kUnitOpenBottom);
        v.integer("warmup", o.warmup, {-1, options::kSafeIntegerMax});
        v.real("weightDecay", o.weight_decay, options::kUnit);
        v.real("dropout", o.dropout, options::kUnitOpenTop);
        v.integer("seed", o.seed, {0, options::kSafeIntegerMax});
        v.integer("threads", o.threads, {0, 1024});
        v.integer("maxSteps", o.max_steps, {0, options::kSafeIntegerMax});
    }
    void validate() const {
        options::require("out", out_path, "a file path");
        options::check_ranges(*this);
        if (init_path.empty()) config.validate();
        if (!(warmup_init_lr > 0 && warmup_init_lr <= learning_rate)) fail(ErrorKind::Input, "the warm-up's initial learning rate must be in (0, learningRate]");
        if (!(beta1 >= 0 && beta1 < 1 && beta2 >= 0 && beta2 < 1 && std::isfinite(eps) && eps >= 0))
            fail(ErrorKind::Input, "AdamW needs beta1 and beta2 in [0, 1) and a finite eps >= 0");
    }
};

struct TrainProgress {
    enum class Phase : int32_t { Train = 0, Validate = 1, Epoch = 2 };
    Phase phase = Phase::Train;
    int32_t epoch = 0;
    int64_t step = 0, steps = 0;  // batches done / in this phase
    double loss = 0;              // running mean NLL per record of this phase
    double lr = 0;
    double train_loss = 0, val_loss = 0;  // Epoch
    bool improved = false;                // Epoch
    double elapsed_ms = 0;
};

struct EpochSummary {
    int32_t epoch = 0;
    double train_loss = 0, val_loss = 0;
    double seconds = 0, train_seconds = 0;
    int64_t train_records = 0;
    bool improved = false;
};

struct TrainResult {
    int32_t best_epoch = 0;
    double best_val_loss = 0, initial_val_loss = 0;
    std::vector<EpochSummary> history;
    int64_t train_workers = 0, valid_workers = 0, train_records = 0, valid_records = 0;
    int64_t n_params = 0, steps = 0, warmup = 0;
    int32_t threads = 0;
    double seconds = 0;
    Config config;
};

using TrainProgressFn = std::function<void(const TrainProgress &)>;
using StopFn = std::function<bool()>;

TrainResult train(const TrainOptions &opts, const TrainProgressFn &progress, const StopFn &stop);

// Mean negative log-likelihood per record of `ds` under `w` (no dropout), in nats.
double mean_nll(const Weights &w, const Dataset &ds, int32_t batch, Runner &runner, const StopFn &stop);

}  // namespace labor::career
