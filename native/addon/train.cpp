// N-API surface of local fine-tuning: train(options, onProgress?, cancel?) -> Promise<result>.
// The run happens on a libuv worker thread; progress events reach onProgress on the JS thread, all
// of them before the promise settles (AsyncProgressQueueWorker drains its queue first). Engine
// errors become JS errors with a `code` (INPUT, MODEL, ENGINE, CANCELLED), as in addon.cpp; an
// exception thrown by onProgress stops the run and rejects the promise with that exception.
#include <napi.h>

#include <atomic>
#include <cmath>
#include <string>
#include <vector>

#include "common.h"
#include "errors.h"
#include "trainer.h"

namespace {

using labor_addon::cancel_flag_of;
Napi::Error train_error(Napi::Env env, const std::string &code, const std::string &message) {
    return labor_addon::make_error(env, code, message);
}

Napi::Value number_or_null(Napi::Env env, double x) { return std::isfinite(x) ? Napi::Number::New(env, x) : env.Null(); }

class TrainWorker : public Napi::AsyncProgressQueueWorker<labor::TrainProgress> {
  public:
    TrainWorker(Napi::Env env, labor::TrainOptions opts, Napi::Value on_progress, Napi::Value cancel)
        : Napi::AsyncProgressQueueWorker<labor::TrainProgress>(env, "labor-llm-train"),
          deferred_(Napi::Promise::Deferred::New(env)), opts_(std::move(opts)), flag_(cancel_flag_of(cancel)) {
        if (on_progress.IsFunction()) callback_ = Napi::Persistent(on_progress.As<Napi::Function>());
        if (flag_ != nullptr) keep_ = Napi::Persistent(cancel.As<Napi::Object>());  // keeps the flag's memory alive
    }
    Napi::Promise promise() { return deferred_.Promise(); }

  protected:
    void Execute(const ExecutionProgress &progress) override {
        std::string message;
        const bool ok = labor_addon::run_catching(
            [&] {
                result_ = labor::train(
                    opts_, [&progress](const labor::TrainProgress &p) { progress.Send(&p, 1); },
                    [this]() {
                        return callback_failed_.load() || (flag_ != nullptr && __atomic_load_n(flag_, __ATOMIC_RELAXED) != 0);
                    });
            },
            code_, message);
        if (!ok) SetError(message);
    }

    void OnProgress(const labor::TrainProgress *data, size_t count) override {
        if (callback_.IsEmpty() || callback_failed_.load()) return;
        Napi::Env env = Env();
        for (size_t i = 0; i < count; ++i) {
            try {
                callback_.Call({progress_to_js(env, data[i])});
            } catch (const Napi::Error &e) {
                callback_error_ = e;
                callback_failed_.store(true);
                return;
            }
        }
    }

    void OnOK() override {
        Napi::Env env = Env();
        if (callback_failed_.load()) {
            deferred_.Reject(callback_error_.Value());
            return;
        }
        try {
            deferred_.Resolve(result_to_js(env));
        } catch (const Napi::Error &e) {
            deferred_.Reject(e.Value());
        }
    }

    void OnError(const Napi::Error &e) override {
        if (callback_failed_.load()) {
            deferred_.Reject(callback_error_.Value());
            return;
        }
        deferred_.Reject(train_error(Env(), code_, e.Message()).Value());
    }

  private:
    static Napi::Object progress_to_js(Napi::Env env, const labor::TrainProgress &p) {
        Napi::Object o = Napi::Object::New(env);
        using Phase = labor::TrainProgress::Phase;
        o.Set("phase", p.phase == Phase::Train ? "train" : p.phase == Phase::Validate ? "validate" : "epoch");
        o.Set("epoch", p.epoch);
        if (p.phase == Phase::Epoch) {
            o.Set("trainLoss", number_or_null(env, p.train_loss));
            o.Set("valLoss", number_or_null(env, p.val_loss));
            o.Set("improved", p.improved);
        } else {
            o.Set("window", (double)p.window);
            o.Set("windows", (double)p.windows);
            o.Set("loss", number_or_null(env, p.loss));
            if (p.phase == Phase::Train) o.Set("lr", p.lr);
        }
        o.Set("elapsedMs", p.elapsed_ms);
        return o;
    }

    Napi::Object result_to_js(Napi::Env env) const {
        const labor::TrainResult &r = result_;
        Napi::Object o = Napi::Object::New(env);
        o.Set("out", r.out_path);
        o.Set("bestEpoch", r.best_epoch);
        o.Set("bestValLoss", r.best_val_loss);
        o.Set("initialValLoss", r.initial_val_loss);
        o.Set("initialValAccuracy", r.initial_val_accuracy);
        Napi::Array history = Napi::Array::New(env, r.history.size());
        for (size_t i = 0; i < r.history.size(); ++i) {
            const auto &h = r.history[i];
            Napi::Object e = Napi::Object::New(env);
            e.Set("epoch", h.epoch);
            e.Set("trainLoss", h.train_loss);
            e.Set("valLoss", h.val_loss);
            e.Set("valAccuracy", h.val_accuracy);
            e.Set("seconds", h.seconds);
            e.Set("improved", h.improved);
            history.Set((uint32_t)i, e);
        }
        o.Set("history", history);
        o.Set("trainTexts", (double)r.train_texts);
        o.Set("validTexts", (double)r.valid_texts);
        o.Set("trainTokens", (double)r.train_tokens);
        o.Set("validTokens", (double)r.valid_tokens);
        o.Set("trainWindows", (double)r.train_windows);
        o.Set("validWindows", (double)r.valid_windows);
        o.Set("contextLength", r.context_length);
        o.Set("trainableParams", (double)r.trainable_params);
        o.Set("threads", r.threads);
        o.Set("seconds", r.seconds);
        return o;
    }

    Napi::Promise::Deferred deferred_;
    labor::TrainOptions opts_;
    const int32_t *flag_;
    Napi::ObjectReference keep_;
    Napi::FunctionReference callback_;
    std::atomic<bool> callback_failed_{false};
    Napi::Error callback_error_;
    labor::TrainResult result_;
    std::string code_ = "ENGINE";
};

std::vector<std::string> string_list(Napi::Env env, const Napi::Object &o, const char *key) {
    Napi::Value v = o.Get(key);
    if (!v.IsArray()) throw train_error(env, "INPUT", std::string("train: ") + key + " must be an array of strings");
    Napi::Array a = v.As<Napi::Array>();
    std::vector<std::string> out;
    out.reserve(a.Length());
    for (uint32_t i = 0; i < a.Length(); ++i) {
        Napi::Value s = a.Get(i);
        if (!s.IsString()) throw train_error(env, "INPUT", std::string("train: ") + key + "[" + std::to_string(i) + "] is not a string");
        out.push_back(s.As<Napi::String>().Utf8Value());
    }
    return out;
}

double number_option(Napi::Env env, const Napi::Object &o, const char *key, double def) {
    Napi::Value v = o.Get(key);
    if (v.IsUndefined()) return def;
    if (!v.IsNumber()) throw train_error(env, "INPUT", std::string("train: ") + key + " must be a number");
    return v.As<Napi::Number>().DoubleValue();
}

int int_option(Napi::Env env, const Napi::Object &o, const char *key, int def) {
    double d = number_option(env, o, key, def);
    if (!std::isfinite(d) || d != std::floor(d) || d < -2147483648.0 || d > 2147483647.0)
        throw train_error(env, "INPUT", std::string("train: ") + key + " must be an integer");
    return (int)d;
}

// train({model, out, trainTexts, validTexts, epochs, contextLength, learningRate, lrDecay ("constant" |
//        "linear" | "cosine"), warmupRatio, minLrRatio, weightDecay, beta1, beta2, eps, seed, threads,
//        gpuLayers}, onProgress?, cancel?: Int32Array) -> Promise<result>
Napi::Value Train(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    if (!info[0].IsObject()) throw train_error(env, "INPUT", "train needs an options object");
    Napi::Object o = info[0].As<Napi::Object>();
    labor::TrainOptions opts;
    if (!o.Get("model").IsString()) throw train_error(env, "INPUT", "train: model must be a string (a GGUF path)");
    if (!o.Get("out").IsString()) throw train_error(env, "INPUT", "train: out must be a string (a GGUF path)");
    opts.model_path = o.Get("model").As<Napi::String>().Utf8Value();
    opts.out_path = o.Get("out").As<Napi::String>().Utf8Value();
    opts.train_texts = string_list(env, o, "trainTexts");
    opts.valid_texts = string_list(env, o, "validTexts");
    opts.epochs = int_option(env, o, "epochs", opts.epochs);
    opts.context_length = int_option(env, o, "contextLength", opts.context_length);
    opts.learning_rate = number_option(env, o, "learningRate", opts.learning_rate);
    Napi::Value decay = o.Get("lrDecay");
    if (!decay.IsUndefined()) {
        const std::string d = decay.IsString() ? decay.As<Napi::String>().Utf8Value() : "";
        if (d == "constant") opts.lr_decay = labor::LrDecay::Constant;
        else if (d == "linear") opts.lr_decay = labor::LrDecay::Linear;
        else if (d == "cosine") opts.lr_decay = labor::LrDecay::Cosine;
        else throw train_error(env, "INPUT", "train: lrDecay must be \"constant\", \"linear\" or \"cosine\"");
    }
    opts.warmup_ratio = number_option(env, o, "warmupRatio", opts.warmup_ratio);
    opts.min_lr_ratio = number_option(env, o, "minLrRatio", opts.min_lr_ratio);
    opts.weight_decay = number_option(env, o, "weightDecay", opts.weight_decay);
    opts.beta1 = number_option(env, o, "beta1", opts.beta1);
    opts.beta2 = number_option(env, o, "beta2", opts.beta2);
    opts.eps = number_option(env, o, "eps", opts.eps);
    double seed = number_option(env, o, "seed", 0);
    if (!(seed >= 0 && seed <= 9007199254740991.0 && seed == std::floor(seed)))
        throw train_error(env, "INPUT", "train: seed must be an integer >= 0");
    opts.seed = (uint64_t)seed;
    opts.threads = int_option(env, o, "threads", 0);
    opts.gpu_layers = int_option(env, o, "gpuLayers", 0);
    auto *worker = new TrainWorker(env, std::move(opts), info[1], info[2]);
    Napi::Promise p = worker->promise();
    worker->Queue();
    return p;
}

}  // namespace

void RegisterTrain(Napi::Env env, Napi::Object exports) { exports.Set("train", Napi::Function::New(env, Train)); }
