// N-API surface of the CAREER baseline (native/engine/career_*):
//   careerTrain(options, onProgress?, cancel?) -> Promise<result>   (a libuv worker thread)
//   careerLoad(path, threads) -> CareerModel { info(), logProbs(data, batch, cancel?) -> Promise<Float32Array>, free() }
// Data crosses as integers only: {codes: Int32Array, covs: Int32Array, lengths: Int32Array}, one
// code and F covariate ids per record, workers one after the other. Errors carry a `code` (INPUT,
// MODEL, ENGINE, CANCELLED, STATE) as in addon.cpp.
#include <napi.h>

#include <atomic>
#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "career_scorer.h"
#include "career_trainer.h"
#include "common.h"
#include "errors.h"

namespace {

namespace career = labor::career;
using labor_addon::cancel_flag_of;
using labor_addon::make_error;

Napi::Value number_or_null(Napi::Env env, double x) { return std::isfinite(x) ? Napi::Number::New(env, x) : env.Null(); }

Napi::Value field(Napi::Env env, const Napi::Object &o, const char *key, const char *what) {
    Napi::Value v = o.Get(key);
    if (v.IsUndefined()) throw make_error(env, "INPUT", std::string(what) + ": " + key + " is missing");
    return v;
}

double number(Napi::Env env, const Napi::Object &o, const char *key, double def) {
    Napi::Value v = o.Get(key);
    if (v.IsUndefined()) return def;
    if (!v.IsNumber()) throw make_error(env, "INPUT", std::string("career: ") + key + " must be a number");
    return v.As<Napi::Number>().DoubleValue();
}

int64_t integer(Napi::Env env, const Napi::Object &o, const char *key, int64_t def) {
    const double d = number(env, o, key, (double)def);
    if (!std::isfinite(d) || d != std::floor(d) || std::fabs(d) > 9007199254740991.0)
        throw make_error(env, "INPUT", std::string("career: ") + key + " must be an integer");
    return (int64_t)d;
}

std::vector<int32_t> int32s(Napi::Env env, Napi::Value v, const char *what) {
    if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_int32_array)
        throw make_error(env, "INPUT", std::string(what) + " must be an Int32Array");
    Napi::Int32Array a = v.As<Napi::Int32Array>();
    return std::vector<int32_t>(a.Data(), a.Data() + a.ElementLength());
}

std::vector<std::string> strings(Napi::Env env, Napi::Value v, const char *what) {
    if (!v.IsArray()) throw make_error(env, "INPUT", std::string(what) + " must be an array of strings");
    Napi::Array a = v.As<Napi::Array>();
    std::vector<std::string> out;
    for (uint32_t i = 0; i < a.Length(); ++i) {
        Napi::Value s = a.Get(i);
        if (!s.IsString()) throw make_error(env, "INPUT", std::string(what) + "[" + std::to_string(i) + "] is not a string");
        out.push_back(s.As<Napi::String>().Utf8Value());
    }
    return out;
}

career::Dataset dataset(Napi::Env env, Napi::Value v, int32_t n_covariates, const char *what) {
    if (!v.IsObject()) throw make_error(env, "INPUT", std::string(what) + " must be {codes, covs, lengths}");
    Napi::Object o = v.As<Napi::Object>();
    career::Dataset ds;
    ds.n_covariates = n_covariates;
    ds.codes = int32s(env, o.Get("codes"), "codes");
    ds.covs = int32s(env, o.Get("covs"), "covs");
    std::vector<int32_t> lengths = int32s(env, o.Get("lengths"), "lengths");
    ds.offsets.push_back(0);
    for (int32_t len : lengths) {
        if (len < 1) throw make_error(env, "INPUT", std::string(what) + ": a worker has no records");
        ds.offsets.push_back(ds.offsets.back() + len);
    }
    return ds;
}

career::Metadata metadata(Napi::Env env, Napi::Value v) {
    career::Metadata m;
    if (v.IsUndefined()) return m;
    if (!v.IsObject()) throw make_error(env, "INPUT", "career: meta must be an object");
    Napi::Object o = v.As<Napi::Object>();
    Napi::Array keys = o.GetPropertyNames();
    for (uint32_t i = 0; i < keys.Length(); ++i) {
        const std::string k = keys.Get(i).As<Napi::String>().Utf8Value();
        Napi::Value x = o.Get(k);
        if (x.IsString()) m.strings.emplace_back(k, x.As<Napi::String>().Utf8Value());
        else if (x.IsNumber()) m.numbers.emplace_back(k, x.As<Napi::Number>().DoubleValue());
        else if (x.IsArray()) m.lists.emplace_back(k, strings(env, x, k.c_str()));
        else throw make_error(env, "INPUT", "career: meta." + k + " must be a string, a number or a string array");
    }
    return m;
}

Napi::Object config_to_js(Napi::Env env, const career::Config &c) {
    Napi::Object o = Napi::Object::New(env);
    o.Set("layers", c.layers);
    o.Set("width", c.width);
    o.Set("heads", c.heads);
    o.Set("ff", c.ff);
    o.Set("nCodes", c.n_codes);
    Napi::Array names = Napi::Array::New(env, c.covariate_names.size());
    Napi::Array sizes = Napi::Array::New(env, c.covariate_sizes.size());
    for (size_t i = 0; i < c.covariate_names.size(); ++i) {
        names.Set((uint32_t)i, c.covariate_names[i]);
        sizes.Set((uint32_t)i, c.covariate_sizes[i]);
    }
    o.Set("covariateNames", names);
    o.Set("covariateSizes", sizes);
    return o;
}

class TrainWorker : public Napi::AsyncProgressQueueWorker<career::TrainProgress> {
  public:
    TrainWorker(Napi::Env env, career::TrainOptions opts, Napi::Value on_progress, Napi::Value cancel)
        : Napi::AsyncProgressQueueWorker<career::TrainProgress>(env, "labor-llm-career-train"),
          deferred_(Napi::Promise::Deferred::New(env)), opts_(std::move(opts)), flag_(cancel_flag_of(cancel)) {
        if (on_progress.IsFunction()) callback_ = Napi::Persistent(on_progress.As<Napi::Function>());
        if (flag_ != nullptr) keep_ = Napi::Persistent(cancel.As<Napi::Object>());
    }
    Napi::Promise promise() { return deferred_.Promise(); }

  protected:
    void Execute(const ExecutionProgress &progress) override {
        std::string message;
        const bool ok = labor_addon::run_catching(
            [&] {
                result_ = career::train(
                    opts_, [&progress](const career::TrainProgress &p) { progress.Send(&p, 1); },
                    [this]() { return callback_failed_.load() || (flag_ != nullptr && __atomic_load_n(flag_, __ATOMIC_RELAXED) != 0); });
            },
            code_, message);
        if (!ok) SetError(message);
    }
    void OnProgress(const career::TrainProgress *data, size_t count) override {
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
        if (callback_failed_.load()) return deferred_.Reject(callback_error_.Value());
        deferred_.Resolve(result_to_js(Env()));
    }
    void OnError(const Napi::Error &e) override {
        if (callback_failed_.load()) return deferred_.Reject(callback_error_.Value());
        deferred_.Reject(make_error(Env(), code_, e.Message()).Value());
    }

  private:
    static Napi::Object progress_to_js(Napi::Env env, const career::TrainProgress &p) {
        using Phase = career::TrainProgress::Phase;
        Napi::Object o = Napi::Object::New(env);
        o.Set("phase", p.phase == Phase::Train ? "train" : p.phase == Phase::Validate ? "validate" : "epoch");
        o.Set("epoch", p.epoch);
        if (p.phase == Phase::Epoch) {
            o.Set("trainLoss", number_or_null(env, p.train_loss));
            o.Set("valLoss", number_or_null(env, p.val_loss));
            o.Set("improved", p.improved);
        } else if (p.phase == Phase::Train) {
            o.Set("step", (double)p.step);
            o.Set("steps", (double)p.steps);
            o.Set("loss", number_or_null(env, p.loss));
            o.Set("lr", p.lr);
        }
        o.Set("elapsedMs", p.elapsed_ms);
        return o;
    }
    Napi::Object result_to_js(Napi::Env env) const {
        const career::TrainResult &r = result_;
        Napi::Object o = Napi::Object::New(env);
        o.Set("out", opts_.out_path);
        o.Set("bestEpoch", r.best_epoch);
        o.Set("bestValLoss", r.best_val_loss);
        o.Set("initialValLoss", r.initial_val_loss);
        Napi::Array h = Napi::Array::New(env, r.history.size());
        for (size_t i = 0; i < r.history.size(); ++i) {
            const auto &e = r.history[i];
            Napi::Object x = Napi::Object::New(env);
            x.Set("epoch", e.epoch);
            x.Set("trainLoss", e.train_loss);
            x.Set("valLoss", e.val_loss);
            x.Set("seconds", e.seconds);
            x.Set("trainSeconds", e.train_seconds);
            x.Set("trainRecords", (double)e.train_records);
            x.Set("improved", e.improved);
            h.Set((uint32_t)i, x);
        }
        o.Set("history", h);
        o.Set("trainWorkers", (double)r.train_workers);
        o.Set("validWorkers", (double)r.valid_workers);
        o.Set("trainRecords", (double)r.train_records);
        o.Set("validRecords", (double)r.valid_records);
        o.Set("params", (double)r.n_params);
        o.Set("steps", (double)r.steps);
        o.Set("warmup", (double)r.warmup);
        o.Set("threads", r.threads);
        o.Set("seconds", r.seconds);
        o.Set("config", config_to_js(env, r.config));
        return o;
    }

    Napi::Promise::Deferred deferred_;
    career::TrainOptions opts_;
    const int32_t *flag_;
    Napi::ObjectReference keep_;
    Napi::FunctionReference callback_;
    std::atomic<bool> callback_failed_{false};
    Napi::Error callback_error_;
    career::TrainResult result_;
    std::string code_ = "ENGINE";
};

// careerTrain({config: {layers, width, heads, ff, nCodes, covariateNames, covariateSizes}, init?, out,
//   train, valid, meta?, epochs, batch, lr, warmupInitLr, warmup, beta1, beta2, eps, weightDecay,
//   dropout, seed, threads, maxSteps}, onProgress?, cancel?)
Napi::Value CareerTrain(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    if (!info[0].IsObject()) throw make_error(env, "INPUT", "careerTrain needs an options object");
    Napi::Object o = info[0].As<Napi::Object>();
    career::TrainOptions t;
    Napi::Value cv = field(env, o, "config", "careerTrain");
    if (!cv.IsObject()) throw make_error(env, "INPUT", "careerTrain: config must be an object");
    Napi::Object c = cv.As<Napi::Object>();
    t.config.layers = (int32_t)integer(env, c, "layers", t.config.layers);
    t.config.width = (int32_t)integer(env, c, "width", t.config.width);
    t.config.heads = (int32_t)integer(env, c, "heads", t.config.heads);
    t.config.ff = (int32_t)integer(env, c, "ff", t.config.ff);
    t.config.n_codes = (int32_t)integer(env, c, "nCodes", 0);
    t.config.covariate_names = strings(env, field(env, c, "covariateNames", "config"), "covariateNames");
    Napi::Value sv = field(env, c, "covariateSizes", "config");
    if (!sv.IsArray()) throw make_error(env, "INPUT", "careerTrain: covariateSizes must be an array of integers");
    for (uint32_t i = 0; i < sv.As<Napi::Array>().Length(); ++i) {
        Napi::Value x = sv.As<Napi::Array>().Get(i);
        if (!x.IsNumber()) throw make_error(env, "INPUT", "careerTrain: covariateSizes must be an array of integers");
        t.config.covariate_sizes.push_back(x.As<Napi::Number>().Int32Value());
    }
    if (o.Get("init").IsString()) t.init_path = o.Get("init").As<Napi::String>().Utf8Value();
    if (!o.Get("out").IsString()) throw make_error(env, "INPUT", "careerTrain: out must be a path");
    t.out_path = o.Get("out").As<Napi::String>().Utf8Value();
    const int32_t F = (int32_t)t.config.covariate_names.size();
    t.train = dataset(env, field(env, o, "train", "careerTrain"), F, "train");
    t.valid = dataset(env, field(env, o, "valid", "careerTrain"), F, "valid");
    t.meta = metadata(env, o.Get("meta"));
    t.epochs = (int32_t)integer(env, o, "epochs", t.epochs);
    t.batch = (int32_t)integer(env, o, "batch", t.batch);
    t.lr = number(env, o, "lr", t.lr);
    t.warmup_init_lr = number(env, o, "warmupInitLr", t.warmup_init_lr);
    t.warmup = integer(env, o, "warmup", t.warmup);
    t.beta1 = number(env, o, "beta1", t.beta1);
    t.beta2 = number(env, o, "beta2", t.beta2);
    t.eps = number(env, o, "eps", t.eps);
    t.weight_decay = number(env, o, "weightDecay", t.weight_decay);
    t.dropout = (float)number(env, o, "dropout", t.dropout);
    const int64_t seed = integer(env, o, "seed", 0);
    if (seed < 0) throw make_error(env, "INPUT", "careerTrain: seed must be >= 0");
    t.seed = (uint64_t)seed;
    t.threads = (int)integer(env, o, "threads", 0);
    t.max_steps = integer(env, o, "maxSteps", 0);
    auto *worker = new TrainWorker(env, std::move(t), info[1], info[2]);
    Napi::Promise p = worker->promise();
    worker->Queue();
    return p;
}

class ScoreWorker : public Napi::AsyncWorker {
  public:
    ScoreWorker(Napi::Env env, std::shared_ptr<career::Scorer> s, career::Dataset ds, int32_t batch, Napi::Value cancel)
        : Napi::AsyncWorker(env, "labor-llm-career-score"), deferred_(Napi::Promise::Deferred::New(env)), scorer_(std::move(s)),
          ds_(std::move(ds)), batch_(batch), flag_(cancel_flag_of(cancel)) {
        if (flag_ != nullptr) keep_ = Napi::Persistent(cancel.As<Napi::Object>());
    }
    Napi::Promise promise() { return deferred_.Promise(); }

  protected:
    void Execute() override {
        std::string message;
        const bool ok = labor_addon::run_catching(
            [&] { scorer_->log_probs(ds_, batch_, out_, [this] { return flag_ != nullptr && __atomic_load_n(flag_, __ATOMIC_RELAXED) != 0; }); },
            code_, message);
        if (!ok) SetError(message);
    }
    void OnOK() override {
        Napi::Float32Array a = Napi::Float32Array::New(Env(), out_.size());
        std::copy(out_.begin(), out_.end(), a.Data());
        deferred_.Resolve(a);
    }
    void OnError(const Napi::Error &e) override { deferred_.Reject(make_error(Env(), code_, e.Message()).Value()); }

  private:
    Napi::Promise::Deferred deferred_;
    std::shared_ptr<career::Scorer> scorer_;
    career::Dataset ds_;
    int32_t batch_;
    const int32_t *flag_;
    Napi::ObjectReference keep_;
    std::vector<float> out_;
    std::string code_ = "ENGINE";
};

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
        o.Set("config", config_to_js(env, s->config()));
        o.Set("params", (double)s->n_params());
        o.Set("threads", s->threads());
        Napi::Object meta = Napi::Object::New(env);
        for (const auto &[k, v] : s->metadata().strings) meta.Set(k, v);
        for (const auto &[k, v] : s->metadata().numbers) meta.Set(k, v);
        for (const auto &[k, v] : s->metadata().lists) {
            Napi::Array a = Napi::Array::New(env, v.size());
            for (size_t i = 0; i < v.size(); ++i) a.Set((uint32_t)i, v[i]);
            meta.Set(k, a);
        }
        o.Set("meta", meta);
        return o;
    }
    Napi::Value LogProbs(const Napi::CallbackInfo &info) {
        Napi::Env env = info.Env();
        auto s = live(env);
        career::Dataset ds = dataset(env, info[0], (int32_t)s->config().covariate_sizes.size(), "logProbs");
        const int32_t batch = info[1].IsNumber() ? info[1].As<Napi::Number>().Int32Value() : 64;
        auto *w = new ScoreWorker(env, s, std::move(ds), batch, info[2]);
        Napi::Promise p = w->promise();
        w->Queue();
        return p;
    }
    Napi::Value Free(const Napi::CallbackInfo &info) {
        scorer.reset();
        return info.Env().Undefined();
    }
};
Napi::FunctionReference CareerModelWrap::ctor;

// careerLoad(path, threads) -> NativeCareerModel (a small file: read on the calling thread)
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

void RegisterCareer(Napi::Env env, Napi::Object exports) {
    CareerModelWrap::Init(env);
    exports.Set("careerTrain", Napi::Function::New(env, CareerTrain));
    exports.Set("careerLoad", Napi::Function::New(env, CareerLoad));
}
