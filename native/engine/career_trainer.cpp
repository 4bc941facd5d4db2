#include "career_trainer.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <memory>

#include "career_forward.h"
#include "career_random.h"
#include "epoch_log.h"
#include "errors.h"
#include "ggml-cpu.h"
#include "ggml-opt.h"
#include "log.h"
#include "lr_schedule.h"

namespace labor::career {
namespace {


void probe_output(const std::string &out) {
    struct stat st {};
    if (stat(out.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) fail(ErrorKind::Input, "the output " + out + " is a folder");
    const std::string probe = out + ".career-probe-" + std::to_string((long)getpid()) + ".tmp";
    FILE *f = std::fopen(probe.c_str(), "wb");
    if (!f) fail(ErrorKind::Input, "cannot write next to the output " + out + ": " + std::strerror(errno));
    std::fclose(f);
    std::remove(probe.c_str());
}

}  // namespace

double mean_nll(const Weights &w, const Dataset &ds, int32_t batch, Runner &runner, const StopFn &stop) {
    const int32_t K = w.config().n_codes;
    double total = 0;
    int64_t n = 0;
    std::vector<float> logits;
    for (const auto &seqs : plan_batches(ds, batch, nullptr)) {
        if (stop && stop()) fail(ErrorKind::Cancelled, "the operation was cancelled");
        const HostBatch b = make_batch(ds, seqs, w.config().start_token());
        runner.logits(w, b, logits);
        for (size_t r = 0; r < b.targets.size(); ++r) {
            const float *row = logits.data() + r * K;
            total += logsumexp(row, K) - row[b.targets[r]];
            ++n;
        }
    }
    return n > 0 ? total / (double)n : std::numeric_limits<double>::quiet_NaN();
}

TrainResult train(const TrainOptions &opts, const TrainProgressFn &progress, const StopFn &stop) {
    using clock = std::chrono::steady_clock;
    EpochLog<TrainProgress> epochs(progress, stop);  // the run's clock, stop check and best epoch
    auto elapsed_ms = [&] { return epochs.elapsed_ms(); };
    auto check_stop = [&] { epochs.check_stop(); };
    install_log_handler();
    opts.validate();

    std::unique_ptr<Weights> w;
    if (!opts.init_path.empty()) {
        w = load(opts.init_path, nullptr);
    } else {
        w = std::make_unique<Weights>(opts.config);
        w->init_random(opts.seed);
    }
    const Config &c = w->config();
    opts.train.check(c, "training data");
    opts.valid.check(c, "validation data");
    probe_output(opts.out_path);
    check_stop();

    Runner runner(opts.threads);
    TrainResult res;
    res.config = c;
    res.threads = runner.threads();
    res.n_params = w->n_params();
    res.train_workers = (int64_t)opts.train.size();
    res.valid_workers = (int64_t)opts.valid.size();
    res.train_records = opts.train.records();
    res.valid_records = opts.valid.records();
    const int64_t steps_per_epoch = std::min<int64_t>(
        (int64_t)((opts.train.size() + opts.batch - 1) / opts.batch), opts.max_steps > 0 ? opts.max_steps : INT64_MAX);
    ScheduledAdamW sched;
    sched.schedule.peak = opts.learning_rate;
    sched.schedule.decay = LrDecay::InverseSqrt;
    sched.schedule.init = opts.warmup_init_lr;
    sched.schedule.warmup = opts.warmup >= 0 ? opts.warmup : std::min<int64_t>(steps_per_epoch, 4000);
    res.warmup = sched.schedule.warmup;
    sched.base = ggml_opt_get_default_optimizer_params(nullptr);
    sched.base.adamw.beta1 = (float)opts.beta1;
    sched.base.adamw.beta2 = (float)opts.beta2;
    sched.base.adamw.eps = (float)opts.eps;
    sched.base.adamw.wd = (float)opts.weight_decay;

    auto validate = [&](int32_t epoch) {
        TrainProgress p;
        p.phase = TrainProgress::Phase::Validate;
        p.epoch = epoch;
        p.elapsed_ms = elapsed_ms();
        progress(p);
        return mean_nll(*w, opts.valid, std::max(opts.batch, 64), runner, stop);
    };
    res.initial_val_loss = validate(0);
    epochs.initial(res.initial_val_loss);
    if (opts.epochs == 0) {
        save(*w, opts.meta, opts.out_path);
        res.best_val_loss = res.initial_val_loss;
        res.seconds = elapsed_ms() / 1000;
        return res;
    }

    w->set_trainable();
    ggml_backend_t backend = runner.backend();
    SchedPtr bsched(ggml_backend_sched_new(&backend, nullptr, 1, graph_size(c.layers), false, false));
    if (!bsched) fail(ErrorKind::Engine, "could not create the ggml scheduler");
    ggml_opt_params op = ggml_opt_default_params(bsched.get(), GGML_OPT_LOSS_TYPE_CROSS_ENTROPY);
    op.get_opt_pars = ScheduledAdamW::params;
    op.get_opt_pars_ud = &sched;
    op.optimizer = GGML_OPT_OPTIMIZER_TYPE_ADAMW;
    OptPtr opt(ggml_opt_init(op));
    if (!opt) fail(ErrorKind::Engine, "could not create the ggml optimizer");

    Random rng(opts.seed ^ 0x5DEECE66Dull);
    const int32_t K = c.n_codes, d = c.width;
    std::vector<float> mask, labels;
    std::vector<std::vector<float>> best_weights;
    for (int32_t epoch = 1; epoch <= opts.epochs; ++epoch) {
        const auto e0 = clock::now();
        std::vector<std::vector<int64_t>> batches = plan_batches(opts.train, opts.batch, &rng);
        if ((int64_t)batches.size() > steps_per_epoch) batches.resize((size_t)steps_per_epoch);
        TrainProgress p;
        p.phase = TrainProgress::Phase::Train;
        p.epoch = epoch;
        p.steps = (int64_t)batches.size();
        double loss_sum = 0;
        int64_t records = 0;
        for (size_t k = 0; k < batches.size(); ++k) {
            check_stop();
            const HostBatch b = make_batch(opts.train, batches[k], c.start_token());
            const int32_t n_out = (int32_t)b.rows.size();
            GraphContext g = new_graph_context(c.layers, true);
            GraphInputs in;
            ggml_tensor *logits = build_logits(g.ctx.get(), *w, b.T, b.B, n_out, opts.dropout > 0, in);
            ggml_build_forward_expand(g.graph, logits);
            ggml_opt_prepare_alloc(opt.get(), g.ctx.get(), g.graph, in.codes, logits);
            ggml_opt_alloc(opt.get(), true);
            // Non-static ggml_opt graphs accumulate gradients across evaluations: start each step at zero.
            ggml_opt_reset(opt.get(), false);
            if (in.dropout) {
                const float keep = 1.0f - opts.dropout, scale = 1.0f / keep;
                mask.resize((size_t)ggml_nelements(in.dropout));
                for (float &m : mask) m = rng.uniform() < keep ? scale : 0.0f;
            }
            set_inputs(in, b, d, in.dropout ? mask.data() : nullptr);
            labels.assign((size_t)K * n_out, 0.0f);
            for (int32_t r = 0; r < n_out; ++r) labels[(size_t)r * K + b.targets[r]] = 1.0f;
            ggml_backend_tensor_set(ggml_opt_labels(opt.get()), labels.data(), 0, labels.size() * sizeof(float));
            p.lr = sched.next_rate();
            ggml_opt_eval(opt.get(), nullptr);
            sched.advance();
            float loss = 0;
            ggml_backend_tensor_get(ggml_opt_loss(opt.get()), &loss, 0, sizeof(float));
            if (!std::isfinite(loss))
                fail(ErrorKind::Engine, "the training loss is not finite at epoch " + std::to_string(epoch) +
                                            ": training diverged; lower the learning rate");
            loss_sum += (double)loss * n_out;
            records += n_out;
            p.step = (int64_t)k + 1;
            p.loss = loss_sum / (double)records;
            p.elapsed_ms = elapsed_ms();
            progress(p);
        }
        const double train_seconds = std::chrono::duration<double>(clock::now() - e0).count();
        EpochSummary s;
        s.epoch = epoch;
        s.train_loss = loss_sum / (double)std::max<int64_t>(records, 1);
        s.train_records = records;
        s.train_seconds = train_seconds;
        s.val_loss = validate(epoch);
        if (!std::isfinite(s.val_loss)) fail(ErrorKind::Engine, "the validation loss is not finite: training diverged");
        epochs.close(s, res, e0, [&] { best_weights = w->snapshot(); });
        check_stop();
    }
    res.steps = sched.steps;
    w->restore(best_weights);
    save(*w, opts.meta, opts.out_path);
    res.seconds = elapsed_ms() / 1000;
    return res;
}

}  // namespace labor::career
