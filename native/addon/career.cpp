// N-API surface of the CAREER baseline (native/engine/career_*):
//   careerTrain(opts: NativeCareerTrainOptions, onProgress?: (p) => void, cancel?: Int32Array) -> Promise<result>
//   careerLoad(path: string, threads?: number) -> NativeCareerModel
//     { info(), logProbs(data: CareerData, batch?: number, cancel?: Int32Array) -> Promise<Float32Array>, free() }
// Data crosses as integers only: {codes: Int32Array, covs: Int32Array, lengths: Int32Array}, one
// code and F covariate ids per record, workers one after the other. Errors carry a `code` (INPUT,
// MODEL, ENGINE, CANCELLED, STATE) as in addon.cpp.
#include <napi.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "career_scorer.h"
#include "career_trainer.h"
#include "common.h"
#include "errors.h"
#include "option_reader.h"
#include "worker.h"

namespace career = labor::career;

namespace labor_addon {

std::vector<int32_t> int32s(const Napi::Value &v, const std::string &name) {
    if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_int32_array)
        labor::fail(labor::ErrorKind::Input, name + " must be an Int32Array");
    Napi::Int32Array a = v.As<Napi::Int32Array>();
    return std::vector<int32_t>(a.Data(), a.Data() + a.ElementLength());
}

// CareerData {codes, covs, lengths}: the number of covariates per record follows from the sizes
// (Dataset::check holds it to the model's).
template <>
void read_value<career::Dataset>(Napi::Env, const Napi::Value &v, const std::string &name, career::Dataset &ds) {
    if (!v.IsObject()) labor::fail(labor::ErrorKind::Input, name + " must be {codes, covs, lengths}");
    Napi::Object o = v.As<Napi::Object>();
    ds = career::Dataset();
    ds.codes = int32s(o.Get("codes"), name + ".codes");
    ds.covs = int32s(o.Get("covs"), name + ".covs");
    ds.offsets.push_back(0);
    for (int32_t len : int32s(o.Get("lengths"), name + ".lengths")) {
        if (len < 1) labor::fail(labor::ErrorKind::Input, name + ": a worker has no records");
        ds.offsets.push_back(ds.offsets.back() + len);
    }
    const int64_t records = ds.offsets.back();
    if ((int64_t)ds.codes.size() != records || (records > 0 && (int64_t)ds.covs.size() % records != 0))
        labor::fail(labor::ErrorKind::Input, name + ": the code and covariate arrays do not match the worker lengths");
    ds.n_covariates = records > 0 ? (int32_t)((int64_t)ds.covs.size() / records) : 0;
}

// The file's metadata: strings, numbers and string lists by key.
template <>
void read_value<career::Metadata>(Napi::Env env, const Napi::Value &v, const std::string &name, career::Metadata &m) {
    if (!v.IsObject()) labor::fail(labor::ErrorKind::Input, name + " must be an object");
    Napi::Object o = v.As<Napi::Object>();
    Napi::Array keys = o.GetPropertyNames();
    OptionReader lists(env, o, name + ".");
    m = career::Metadata();
    for (uint32_t i = 0; i < keys.Length(); ++i) {
        const std::string k = keys.Get(i).As<Napi::String>().Utf8Value();
        Napi::Value x = o.Get(k);
        if (x.IsString()) m.strings.emplace_back(k, x.As<Napi::String>().Utf8Value());
        else if (x.IsNumber()) m.numbers.emplace_back(k, x.As<Napi::Number>().DoubleValue());
        else if (x.IsArray()) lists.read(x, name + "." + k, m.lists.emplace_back(k, std::vector<std::string>()).second);
        else labor::fail(labor::ErrorKind::Input, name + "." + k + " must be a string, a number or a string array");
    }
}

}  // namespace labor_addon

namespace {

using labor_addon::guarded;
using labor_addon::Job;
using labor_addon::make_error;
using labor_addon::number_or_null;

Napi::Value progress_to_js(Napi::Env env, const career::TrainProgress &p) {
    return labor_addon::training_progress_to_js(env, p, [&](Napi::Object &o) {
        if (p.phase != career::TrainProgress::Phase::Train) return;
        o.Set("step", (double)p.step);
        o.Set("steps", (double)p.steps);
        o.Set("loss", number_or_null(env, p.loss));
        o.Set("lr", p.lr);
    });
}

Napi::Object result_to_js(Napi::Env env, const career::TrainResult &r, const std::string &out) {
    Napi::Object o = Napi::Object::New(env);
    o.Set("out", out);
    o.Set("bestEpoch", r.best_epoch);
    o.Set("bestValLoss", r.best_val_loss);
    o.Set("initialValLoss", r.initial_val_loss);
    o.Set("history", labor_addon::array_of(env, r.history, [&](const career::EpochSummary &e) {
        Napi::Object x = Napi::Object::New(env);
        x.Set("epoch", e.epoch);
        x.Set("trainLoss", e.train_loss);
        x.Set("valLoss", e.val_loss);
        x.Set("seconds", e.seconds);
        x.Set("trainSeconds", e.train_seconds);
        x.Set("trainRecords", (double)e.train_records);
        x.Set("improved", e.improved);
        return x;
    }));
    o.Set("trainWorkers", (double)r.train_workers);
    o.Set("validWorkers", (double)r.valid_workers);
    o.Set("trainRecords", (double)r.train_records);
    o.Set("validRecords", (double)r.valid_records);
    o.Set("params", (double)r.n_params);
    o.Set("steps", (double)r.steps);
    o.Set("warmup", (double)r.warmup);
    o.Set("threads", r.threads);
    o.Set("seconds", r.seconds);
    o.Set("config", labor_addon::options_to_js(env, r.config));
    return o;
}

// careerTrain(opts: NativeCareerTrainOptions, onProgress?, cancel?) -> Promise<NativeCareerTrainResult>
Napi::Value CareerTrain(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    return guarded(env, [&]() -> Napi::Value {
        const auto opts = labor_addon::read_options<career::TrainOptions>(env, info[0], "careerTrain");
        auto result = std::make_shared<career::TrainResult>();
        return labor_addon::ProgressJob<career::TrainProgress>::start(
            env, "labor-llm-career-train",
            [opts, result](const auto &send, const auto &stop) { *result = career::train(opts, send, stop); }, progress_to_js,
            [result, out = opts.out_path](Napi::Env env) -> Napi::Value { return result_to_js(env, *result, out); }, info[1], info[2]);
    });
}

class CareerModelWrap : public Napi::ObjectWrap<CareerModelWrap> {
  public:
    static Napi::FunctionReference ctor;
    static void Init(Napi::Env env) {
        Napi::Function f = DefineClass(env, "NativeCareerModel",
                                       {InstanceMethod("info", &CareerModelWrap::Info), InstanceMethod("logProbs", &CareerModelWrap::LogProbs),
                                        InstanceMethod("free", &CareerModelWrap::Free)});
        ctor = Napi::Persistent(f);
    }
    explicit CareerModelWrap(const Napi::CallbackInfo &info) : Napi::ObjectWrap<CareerModelWrap>(info) {}
    std::shared_ptr<career::Scorer> scorer;

  private:
    std::shared_ptr<career::Scorer> live(Napi::Env env) {
        if (!scorer) throw make_error(env, "STATE", "the CAREER model has been freed");
        return scorer;
    }
    Napi::Value Info(const Napi::CallbackInfo &info) {
        Napi::Env env = info.Env();
        auto s = live(env);
        Napi::Object o = Napi::Object::New(env);
        o.Set("config", labor_addon::options_to_js(env, s->config()));
        o.Set("params", (double)s->n_params());
        o.Set("threads", s->threads());
        Napi::Object meta = Napi::Object::New(env);
        for (const auto &[k, v] : s->metadata().strings) meta.Set(k, v);
        for (const auto &[k, v] : s->metadata().numbers) meta.Set(k, v);
        for (const auto &[k, v] : s->metadata().lists)
            meta.Set(k, labor_addon::array_of(env, v, [&](const std::string &x) { return Napi::String::New(env, x); }));
        o.Set("meta", meta);
        return o;
    }
    // logProbs(data: CareerData, batch?: number, cancel?: Int32Array) -> Promise<Float32Array>: per
    // record, the log-probability of every code.
    Napi::Value LogProbs(const Napi::CallbackInfo &info) {
        Napi::Env env = info.Env();
        return guarded(env, [&]() -> Napi::Value {
            auto s = live(env);
            const auto ds = labor_addon::read_argument<career::Dataset>(env, info[0], "data");
            const int32_t batch = info[1].IsNumber() ? info[1].As<Napi::Number>().Int32Value() : 64;
            auto out = std::make_shared<std::vector<float>>();
            return Job::start(
                env,
                [s, ds, batch, out](const int32_t *flag) {
                    s->log_probs(ds, batch, *out, [flag] { return labor_addon::cancel_requested(flag); });
                },
                [out](Napi::Env env) -> Napi::Value {
                    Napi::Float32Array a = Napi::Float32Array::New(env, out->size());
                    std::copy(out->begin(), out->end(), a.Data());
                    return a;
                },
                info[2]);
        });
    }
    Napi::Value Free(const Napi::CallbackInfo &info) {
        scorer.reset();
        return info.Env().Undefined();
    }
};
Napi::FunctionReference CareerModelWrap::ctor;

// careerLoad(path: string, threads?: number) -> NativeCareerModel (a small file: read on the calling thread)
Napi::Value CareerLoad(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    if (!info[0].IsString()) throw make_error(env, "INPUT", "careerLoad: path must be a string");
    const std::string path = info[0].As<Napi::String>().Utf8Value();
    const int threads = info[1].IsNumber() ? info[1].As<Napi::Number>().Int32Value() : 0;
    std::shared_ptr<career::Scorer> s;
    std::string code, message;
    if (!labor_addon::run_catching([&] { s = std::make_shared<career::Scorer>(path, threads); }, code, message))
        throw make_error(env, code, message);
    Napi::Object obj = CareerModelWrap::ctor.New({});
    CareerModelWrap::Unwrap(obj)->scorer = s;
    return obj;
}

}  // namespace

void RegisterCareer(Napi::Env env, Napi::Object exports, Napi::Object option_keys, Napi::Object option_defaults) {
    CareerModelWrap::Init(env);
    exports.Set("careerTrain", Napi::Function::New(env, CareerTrain));
    exports.Set("careerLoad", Napi::Function::New(env, CareerLoad));
    option_keys.Set("careerTrain", labor_addon::option_keys<career::TrainOptions>(env));
    option_defaults.Set("careerTrain", labor_addon::options_to_js(env, career::TrainOptions()));
}
