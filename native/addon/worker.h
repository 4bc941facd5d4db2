// Jobs: work on a libuv worker thread that settles a promise. Every call of the addon that does
// real work runs as one: scoring, loading, training. A job keeps the call's cancel flag (an
// Int32Array over a SharedArrayBuffer) alive while it runs, and turns any exception into a
// rejection with a `code` (INPUT, MODEL, ENGINE, CANCELLED, STATE): nothing crosses as a crash.
#pragma once
#include <napi.h>

#include <atomic>
#include <exception>
#include <functional>
#include <string>

#include "common.h"

namespace labor_addon {

// The JS value a job resolves its promise with, built on the JS thread once the work is done.
using Done = std::function<Napi::Value(Napi::Env)>;

// What every job holds: its promise, the cancel flag and the error code of a failure.
class JobState {
  public:
    JobState(Napi::Env env, const Napi::Value &cancel) : deferred_(Napi::Promise::Deferred::New(env)), flag_(cancel_flag_of(cancel)) {
        if (flag_ != nullptr) keep_ = Napi::Persistent(cancel.As<Napi::Object>());  // keeps the flag's memory alive
    }
    Napi::Promise promise() const { return deferred_.Promise(); }
    const int32_t *flag() const { return flag_; }
    bool cancelled() const { return cancel_requested(flag_); }

    // Runs the work (worker thread); false with the message when it threw.
    bool run(const std::function<void()> &work, std::string &message) { return run_catching(work, code_, message); }
    void resolve(Napi::Env env, const Done &done) {
        try {
            deferred_.Resolve(done(env));
        } catch (const Napi::Error &e) {
            deferred_.Reject(e.Value());
        } catch (const std::exception &e) {
            deferred_.Reject(make_error(env, "ENGINE", e.what()).Value());
        }
    }
    void reject(Napi::Env env, const std::string &message) { deferred_.Reject(make_error(env, code_, message).Value()); }
    void reject(const Napi::Value &error) { deferred_.Reject(error); }

  private:
    Napi::Promise::Deferred deferred_;
    const int32_t *flag_;
    Napi::ObjectReference keep_;
    std::string code_ = "ENGINE";
};

// A job without progress events. `work` gets the call's cancel flag (null when `cancel` is not one).
class Job : public Napi::AsyncWorker {
  public:
    using Work = std::function<void(const int32_t *cancel_flag)>;

    // Queues the work and returns its promise (the worker deletes itself when done).
    static Napi::Promise start(Napi::Env env, Work work, Done done, const Napi::Value &cancel) {
        Job *job = new Job(env, std::move(work), std::move(done), cancel);
        Napi::Promise p = job->state_.promise();
        job->Queue();
        return p;
    }

  protected:
    void Execute() override {
        std::string message;
        if (!state_.run([this] { work_(state_.flag()); }, message)) SetError(message);
    }
    void OnOK() override { state_.resolve(Env(), done_); }
    void OnError(const Napi::Error &e) override { state_.reject(Env(), e.Message()); }

  private:
    Job(Napi::Env env, Work work, Done done, const Napi::Value &cancel)
        : Napi::AsyncWorker(env, "labor-llm"), state_(env, cancel), work_(std::move(work)), done_(std::move(done)) {}
    JobState state_;
    Work work_;
    Done done_;
};

// A job that reports progress (a training run): `work` gets a function that sends an event and one
// that says whether to stop (the cancel flag is set, or the JS callback threw). Events reach
// on_progress on the JS thread, all of them before the promise settles (AsyncProgressQueueWorker
// drains its queue first); an exception thrown by on_progress stops the run and rejects the
// promise with that exception.
template <class Progress>
class ProgressJob : public Napi::AsyncProgressQueueWorker<Progress> {
  public:
    using Send = std::function<void(const Progress &)>;
    using Stop = std::function<bool()>;
    using Work = std::function<void(const Send &send, const Stop &stop)>;
    using ToJs = Napi::Value (*)(Napi::Env, const Progress &);

    static Napi::Promise start(Napi::Env env, const char *name, Work work, ToJs to_js, Done done, const Napi::Value &on_progress,
                               const Napi::Value &cancel) {
        auto *job = new ProgressJob(env, name, std::move(work), to_js, std::move(done), on_progress, cancel);
        Napi::Promise p = job->state_.promise();
        job->Queue();
        return p;
    }

  protected:
    using ExecutionProgress = typename Napi::AsyncProgressQueueWorker<Progress>::ExecutionProgress;

    void Execute(const ExecutionProgress &progress) override {
        std::string message;
        const bool ok = state_.run(
            [&] {
                work_([&progress](const Progress &p) { progress.Send(&p, 1); },
                      [this] { return callback_failed_.load() || state_.cancelled(); });
            },
            message);
        if (!ok) this->SetError(message);
    }
    void OnProgress(const Progress *data, size_t count) override {
        if (callback_.IsEmpty() || callback_failed_.load()) return;
        Napi::Env env = this->Env();
        for (size_t i = 0; i < count; ++i) {
            try {
                callback_.Call({to_js_(env, data[i])});
            } catch (const Napi::Error &e) {
                callback_error_ = e;
                callback_failed_.store(true);
                return;
            }
        }
    }
    void OnOK() override {
        if (callback_failed_.load()) return state_.reject(callback_error_.Value());
        state_.resolve(this->Env(), done_);
    }
    void OnError(const Napi::Error &e) override {
        if (callback_failed_.load()) return state_.reject(callback_error_.Value());
        state_.reject(this->Env(), e.Message());
    }

  private:
    ProgressJob(Napi::Env env, const char *name, Work work, ToJs to_js, Done done, const Napi::Value &on_progress, const Napi::Value &cancel)
        : Napi::AsyncProgressQueueWorker<Progress>(env, name), state_(env, cancel), work_(std::move(work)), to_js_(to_js),
          done_(std::move(done)) {
        if (on_progress.IsFunction()) callback_ = Napi::Persistent(on_progress.As<Napi::Function>());
    }
    JobState state_;
    Work work_;
    ToJs to_js_;
    Done done_;
    Napi::FunctionReference callback_;
    std::atomic<bool> callback_failed_{false};
    Napi::Error callback_error_;
};

// A trainer's progress event as JS sees it: {phase, epoch, ..., elapsedMs}. Both trainers' events
// have the three phases and the epoch's losses; `phase_fields` adds a Train or Validate event's own.
template <class P, class F>
Napi::Value training_progress_to_js(Napi::Env env, const P &p, F &&phase_fields) {
    using Phase = typename P::Phase;
    Napi::Object o = Napi::Object::New(env);
    o.Set("phase", p.phase == Phase::Train ? "train" : p.phase == Phase::Validate ? "validate" : "epoch");
    o.Set("epoch", p.epoch);
    if (p.phase == Phase::Epoch) {
        o.Set("trainLoss", number_or_null(env, p.train_loss));
        o.Set("valLoss", number_or_null(env, p.val_loss));
        o.Set("improved", p.improved);
    } else {
        phase_fields(o);
    }
    o.Set("elapsedMs", p.elapsed_ms);
    return o;
}

}  // namespace labor_addon
