// The epoch bookkeeping both trainers share (trainer.cpp: local fine-tuning of a llama GGUF;
// career_trainer.cpp: CAREER): the untrained model's validation loss is reported as epoch 0; after
// every epoch, the epoch with the lowest validation loss so far is the best one, its weights are
// kept (the trainer's `keep_best`: a checkpoint file, or a snapshot in memory) and the result names
// it; each epoch's summary goes into the result's history and out as an Epoch progress event.
#pragma once
#include <chrono>
#include <functional>
#include <limits>
#include <utility>

namespace labor {

// Progress: the trainer's TrainProgress (phase, epoch, train_loss, val_loss, improved, elapsed_ms).
template <class Progress>
class BestEpoch {
  public:
    using Clock = std::chrono::steady_clock;

    BestEpoch(const std::function<void(const Progress &)> &progress, std::function<double()> elapsed_ms)
        : progress_(progress), elapsed_ms_(std::move(elapsed_ms)) {}

    // Epoch 0: the validation loss before any training.
    void initial(double val_loss) const {
        Progress p;
        p.phase = Progress::Phase::Epoch;
        p.epoch = 0;
        p.train_loss = std::numeric_limits<double>::quiet_NaN();
        p.val_loss = val_loss;
        p.elapsed_ms = elapsed_ms_();
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
        e.elapsed_ms = elapsed_ms_();
        progress_(e);
    }

  private:
    const std::function<void(const Progress &)> &progress_;
    std::function<double()> elapsed_ms_;
    double best_ = std::numeric_limits<double>::infinity();
};

}  // namespace labor
