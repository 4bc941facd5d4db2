// The bookkeeping both trainers share (trainer.cpp: local fine-tuning of a llama GGUF;
// career_trainer.cpp: CAREER): the run's clock (every progress event's elapsed_ms) and its stop
// check; the untrained model's validation loss is reported as epoch 0; after
// every epoch, the epoch with the lowest validation loss so far is the best one, its weights are
// kept (the trainer's `keep_best`: a checkpoint file, or a snapshot in memory) and the result names
// it; each epoch's summary goes into the result's history and out as an Epoch progress event.
#pragma once
#include <chrono>
#include <functional>
#include <limits>
#include <utility>

#include "errors.h"

namespace labor {

// Progress: the trainer's TrainProgress (phase, epoch, train_loss, val_loss, improved, elapsed_ms).
template <class Progress>
class EpochLog {
  public:
    using Clock = std::chrono::steady_clock;

    // The clock starts now.
    EpochLog(const std::function<void(const Progress &)> &progress, const std::function<bool()> &stop)
        : progress_(progress), stop_(stop) {}

    double elapsed_ms() const { return std::chrono::duration<double, std::milli>(Clock::now() - start_).count(); }
    // Between steps, and before reading a result that an aborted graph left meaningless.
    void check_stop() const {
        if (stop_()) fail(ErrorKind::Cancelled, "the operation was cancelled");
    }

    // Epoch 0: the validation loss before any training.
    void initial(double val_loss) const {
        Progress p;
        p.phase = Progress::Phase::Epoch;
        p.epoch = 0;
        p.train_loss = std::numeric_limits<double>::quiet_NaN();
        p.val_loss = val_loss;
        p.elapsed_ms = elapsed_ms();
        progress_(p);
    }

    // An epoch that began at `start`, its losses in `s`: whether it improved (then keep_best()), its
    // seconds, the result's best epoch and history, the Epoch event.
    template <class Summary, class Result, class KeepBest>
    void close(Summary s, Result &res, Clock::time_point start, const KeepBest &keep_best) {
        s.improved = s.val_loss < best_;
        if (s.improved) {
            keep_best();
            best_ = s.val_loss;
            res.best_epoch = s.epoch;
            res.best_val_loss = s.val_loss;
        }
        s.seconds = std::chrono::duration<double>(Clock::now() - start).count();
        res.history.push_back(s);
        Progress e;
        e.phase = Progress::Phase::Epoch;
        e.epoch = s.epoch;
        e.train_loss = s.train_loss;
        e.val_loss = s.val_loss;
        e.improved = s.improved;
        e.elapsed_ms = elapsed_ms();
        progress_(e);
    }

  private:
    const std::function<void(const Progress &)> &progress_;
    const std::function<bool()> &stop_;
    const Clock::time_point start_ = Clock::now();
    double best_ = std::numeric_limits<double>::infinity();
};

}  // namespace labor
