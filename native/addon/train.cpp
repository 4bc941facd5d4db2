// N-API surface of local fine-tuning:
//   train(opts: TrainOptions, onProgress?: (p) => void, cancel?: Int32Array) -> Promise<result>
// The run is a ProgressJob (worker.h): a libuv worker thread, progress on the JS thread, typed errors.
#include <napi.h>

#include <memory>
#include <string>

#include "common.h"
#include "errors.h"
#include "option_reader.h"
#include "trainer.h"
#include "worker.h"

namespace {

using labor_addon::number_or_null;

Napi::Value progress_to_js(Napi::Env env, const labor::TrainProgress &p) {
    return labor_addon::training_progress_to_js(env, p, [&](Napi::Object &o) {
        o.Set("window", (double)p.window);
        o.Set("windows", (double)p.windows);
        o.Set("loss", number_or_null(env, p.loss));
        if (p.phase == labor::TrainProgress::Phase::Train) o.Set("lr", p.lr);  // the schedule's rate at this step
    });
}

Napi::Object result_to_js(Napi::Env env, const labor::TrainResult &r) {
    Napi::Object o = Napi::Object::New(env);
    o.Set("out", r.out_path);
    o.Set("bestEpoch", r.best_epoch);
    o.Set("bestValLoss", r.best_val_loss);
    o.Set("initialValLoss", r.initial_val_loss);
    o.Set("initialValAccuracy", r.initial_val_accuracy);
    o.Set("history", labor_addon::array_of(env, r.history, [&](const labor::EpochSummary &h) {
        Napi::Object e = Napi::Object::New(env);
        e.Set("epoch", h.epoch);
        e.Set("trainLoss", h.train_loss);
        e.Set("valLoss", h.val_loss);
        e.Set("valAccuracy", h.val_accuracy);
        e.Set("seconds", h.seconds);
        e.Set("improved", h.improved);
        return e;
    }));
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

Napi::Value Train(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    return labor_addon::guarded(env, [&]() -> Napi::Value {
        const auto opts = labor_addon::read_options<labor::TrainOptions>(env, info[0], "train");
        auto result = std::make_shared<labor::TrainResult>();
        return labor_addon::ProgressJob<labor::TrainProgress>::start(
            env, "labor-llm-train",
            [opts, result](const auto &send, const auto &stop) { *result = labor::train(opts, send, stop); }, progress_to_js,
            [result](Napi::Env env) -> Napi::Value { return result_to_js(env, *result); }, info[1], info[2]);
    });
}

}  // namespace

void RegisterTrain(Napi::Env env, Napi::Object exports, Napi::Object option_keys, Napi::Object option_defaults) {
    exports.Set("train", Napi::Function::New(env, Train));
    option_keys.Set("train", labor_addon::option_keys<labor::TrainOptions>(env));
    option_defaults.Set("train", labor_addon::options_to_js(env, labor::TrainOptions()));
}
