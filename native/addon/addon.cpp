// N-API surface of the engine. Small on purpose: load a model; tokenize; build a title set; score
// (titles or spans) off the JS thread; measure throughput; free. Every C++ exception becomes a JS
// error with a `code` (INPUT, MODEL, ENGINE, CANCELLED, STATE); nothing crosses as a crash.
// src/engine/native.ts declares every function and options object of the addon; options are read
// through the structs' tables (options.h), whose keys `optionKeys` lists for the drift test and whose
// defaults `optionDefaults` shows (the CLI's help repeats some; a test holds them equal).
#include <napi.h>

#include <memory>
#include <string>
#include <vector>

#include "common.h"
#include "errors.h"
#include "model.h"
#include "option_reader.h"
#include "scorer.h"
#include "worker.h"

// Local fine-tuning (train.cpp).
void RegisterTrain(Napi::Env env, Napi::Object exports, Napi::Object option_keys, Napi::Object option_defaults);
// The CAREER baseline (career.cpp).
void RegisterCareer(Napi::Env env, Napi::Object exports, Napi::Object option_keys, Napi::Object option_defaults);

namespace {

using labor_addon::guarded;
using labor_addon::Job;
using labor_addon::make_error;
using labor_addon::read_options;

class TitleSetWrap : public Napi::ObjectWrap<TitleSetWrap> {
  public:
    static Napi::FunctionReference ctor;
    static void Init(Napi::Env env) {
        Napi::Function f = DefineClass(env, "NativeTitleSet",
                                       {InstanceMethod("info", &TitleSetWrap::Info), InstanceMethod("tokens", &TitleSetWrap::TokensOf)});
        ctor = Napi::Persistent(f);
    }
    explicit TitleSetWrap(const Napi::CallbackInfo &info) : Napi::ObjectWrap<TitleSetWrap>(info) {}
    std::shared_ptr<labor::TitleSet> set;

  private:
    Napi::Value Info(const Napi::CallbackInfo &info) {
        Napi::Env env = info.Env();
        Napi::Object o = Napi::Object::New(env);
        const auto &trie = set->trie();
        int64_t toks = 0;
        for (const auto &t : set->tokens()) toks += (int64_t)t.size();
        o.Set("titles", (double)set->size());
        o.Set("titleTokens", (double)toks);
        o.Set("trieNodes", (double)trie.nodes().size() - 1);
        o.Set("internalNodes", (double)trie.internal_count());
        o.Set("maxDepth", (double)trie.max_depth());
        int32_t first = 0;
        for (int32_t c : trie.node(0).children) (void)c, ++first;
        o.Set("distinctFirstTokens", (double)first);
        return o;
    }
    Napi::Value TokensOf(const Napi::CallbackInfo &info) {
        Napi::Env env = info.Env();
        uint32_t i = info[0].As<Napi::Number>().Uint32Value();
        if (i >= set->size()) throw make_error(env, "INPUT", "title index out of range");
        const auto &t = set->tokens()[i];
        Napi::Int32Array a = Napi::Int32Array::New(env, t.size());
        for (size_t k = 0; k < t.size(); ++k) a[k] = t[k];
        return a;
    }
};
Napi::FunctionReference TitleSetWrap::ctor;

Napi::Object stats_to_js(Napi::Env env, const labor::ScoreStats &s) {
    Napi::Object o = Napi::Object::New(env);
    o.Set("promptTokens", (double)s.prompt_tokens);
    o.Set("promptTokensEvaluated", (double)s.prompt_tokens_evaluated);
    o.Set("titleTokens", (double)s.title_tokens);
    o.Set("trieNodes", (double)s.trie_nodes);
    o.Set("internalNodes", (double)s.internal_nodes);
    o.Set("evaluatedTokens", (double)s.evaluated_tokens);
    o.Set("decodeCalls", (double)s.decode_calls);
    o.Set("retokenizedTitles", (double)s.retokenized_titles);
    o.Set("evaluatedNodes", (double)s.evaluated_nodes);
    o.Set("resolvedTitles", (double)s.resolved_titles);
    o.Set("boundedNodes", (double)s.bounded_nodes);
    o.Set("boundedFallback", s.bounded_fallback);
    o.Set("msTokenize", s.ms_tokenize);
    o.Set("msDecode", s.ms_decode);
    o.Set("msLogsumexp", s.ms_logsumexp);
    o.Set("headRows", (double)s.head_rows);
    return o;
}

Napi::Float64Array to_f64(Napi::Env env, const std::vector<double> &v) {
    Napi::Float64Array a = Napi::Float64Array::New(env, v.size());
    for (size_t i = 0; i < v.size(); ++i) a[i] = v[i];
    return a;
}

class ModelWrap : public Napi::ObjectWrap<ModelWrap> {
  public:
    static Napi::FunctionReference ctor;
    static void Init(Napi::Env env) {
        Napi::Function f = DefineClass(env, "NativeModel",
                                       {InstanceMethod("info", &ModelWrap::Info), InstanceMethod("tokenize", &ModelWrap::Tokenize),
                                        InstanceMethod("detokenize", &ModelWrap::Detokenize),
                                        InstanceMethod("tokenPiece", &ModelWrap::TokenPiece),
                                        InstanceMethod("createTitleSet", &ModelWrap::CreateTitleSet),
                                        InstanceMethod("scoreTitles", &ModelWrap::ScoreTitles),
                                        InstanceMethod("scoreSpans", &ModelWrap::ScoreSpans),
                                        InstanceMethod("throughput", &ModelWrap::MeasureThroughput),
                                        InstanceMethod("setLora", &ModelWrap::SetLora),
                                        InstanceMethod("free", &ModelWrap::Free)});
        ctor = Napi::Persistent(f);
    }
    explicit ModelWrap(const Napi::CallbackInfo &info) : Napi::ObjectWrap<ModelWrap>(info) {}
    // Shared with running jobs: freeing the JS handle never pulls the model from under a worker.
    std::shared_ptr<labor::Model> model;

  private:
    std::shared_ptr<labor::Model> live(Napi::Env env) {
        if (!model) throw make_error(env, "STATE", "the model has been freed");
        return model;
    }

    Napi::Value Info(const Napi::CallbackInfo &info) {
        Napi::Env env = info.Env();
        auto m = live(env);
        Napi::Object o = Napi::Object::New(env);
        o.Set("path", m->options().path);
        o.Set("architecture", m->architecture());
        o.Set("description", m->description());
        o.Set("outputHead", m->head_status());
        o.Set("nVocab", (double)m->n_vocab());
        o.Set("nCtx", (double)m->n_ctx());
        o.Set("nBatch", (double)m->n_batch());
        o.Set("nCtxTrain", (double)llama_model_n_ctx_train(m->model()));
        o.Set("nEmbd", (double)llama_model_n_embd(m->model()));
        o.Set("nParams", (double)llama_model_n_params(m->model()));
        o.Set("sizeBytes", (double)llama_model_size(m->model()));
        o.Set("threads", (double)m->threads());
        o.Set("vocabType", llama_vocab_type(m->vocab()) == LLAMA_VOCAB_TYPE_SPM ? "spm"
                           : llama_vocab_type(m->vocab()) == LLAMA_VOCAB_TYPE_BPE ? "bpe" : "other");
        o.Set("gpuOffload", llama_supports_gpu_offload());
        o.Set("lora", lora_to_js(env, *m));
        return o;
    }

    static Napi::Array lora_to_js(Napi::Env env, const labor::Model &m) {
        return labor_addon::array_of(env, m.active_adapters(), [&](const std::pair<int32_t, float> &a) {
            Napi::Object o = Napi::Object::New(env);
            o.Set("path", m.adapter_path(a.first));
            o.Set("scale", a.second);
            return o;
        });
    }

    // setLora(adapters: LoraAdapterOptions[]) -> Promise<LoraAdapter[]>: loads the adapters not loaded yet
    // and applies exactly these ([]: none).
    Napi::Value SetLora(const Napi::CallbackInfo &info) {
        Napi::Env env = info.Env();
        return guarded(env, [&]() -> Napi::Value {
            auto m = live(env);
            auto wanted = labor_addon::read_argument<std::vector<labor::LoraAdapter>>(env, info[0], "adapters");
            return Job::start(
                env,
                [m, wanted](const int32_t *) {
                    std::lock_guard<std::mutex> lock(m->mutex());
                    std::vector<std::pair<int32_t, float>> active;
                    for (const auto &[path, scale] : wanted) active.emplace_back(m->load_adapter(path), scale);
                    m->set_adapters(active);
                },
                [m](Napi::Env env) -> Napi::Value { return lora_to_js(env, *m); }, env.Undefined());
        });
    }

  private:
    Napi::Value Tokenize(const Napi::CallbackInfo &info) {
        Napi::Env env = info.Env();
        return guarded(env, [&]() -> Napi::Value {
            auto m = live(env);
            if (!info[0].IsString()) throw make_error(env, "INPUT", "tokenize: text must be a string");
            bool add_special = info.Length() > 1 && info[1].ToBoolean();
            labor::Tokens t = m->tokenize(info[0].As<Napi::String>().Utf8Value(), add_special);
            Napi::Int32Array a = Napi::Int32Array::New(env, t.size());
            for (size_t i = 0; i < t.size(); ++i) a[i] = t[i];
            return a;
        });
    }

    Napi::Value Detokenize(const Napi::CallbackInfo &info) {
        Napi::Env env = info.Env();
        return guarded(env, [&]() -> Napi::Value {
            auto m = live(env);
            if (!info[0].IsTypedArray()) throw make_error(env, "INPUT", "detokenize: tokens must be an Int32Array");
            Napi::Int32Array a = info[0].As<Napi::Int32Array>();
            labor::Tokens t(a.ElementLength());
            for (size_t i = 0; i < t.size(); ++i) t[i] = a[i];
            return Napi::String::New(env, m->detokenize(t));
        });
    }

    Napi::Value TokenPiece(const Napi::CallbackInfo &info) {
        Napi::Env env = info.Env();
        return guarded(env, [&]() -> Napi::Value {
            auto m = live(env);
            int32_t t = info[0].As<Napi::Number>().Int32Value();
            if (t < 0 || t >= m->n_vocab()) throw make_error(env, "INPUT", "token id outside the vocabulary");
            return Napi::String::New(env, m->token_piece(t));
        });
    }

    Napi::Value CreateTitleSet(const Napi::CallbackInfo &info) {
        Napi::Env env = info.Env();
        return guarded(env, [&]() -> Napi::Value {
            auto m = live(env);
            if (!info[0].IsArray()) throw make_error(env, "INPUT", "titles must be an array of strings");
            Napi::Array arr = info[0].As<Napi::Array>();
            std::vector<std::string> titles;
            for (uint32_t i = 0; i < arr.Length(); ++i) {
                Napi::Value v = arr.Get(i);
                if (!v.IsString()) throw make_error(env, "INPUT", "title " + std::to_string(i) + " is not a string");
                titles.push_back(v.As<Napi::String>().Utf8Value());
            }
            auto result = std::make_shared<std::shared_ptr<labor::TitleSet>>();
            return Job::start(
                env,
                [m, titles, result](const int32_t *) mutable {
                    std::lock_guard<std::mutex> lock(m->mutex());
                    *result = std::make_shared<labor::TitleSet>(*m, std::move(titles));
                },
                [result](Napi::Env env) -> Napi::Value {
                    Napi::Object o = TitleSetWrap::ctor.New({});
                    TitleSetWrap::Unwrap(o)->set = *result;
                    return o;
                },
                env.Undefined());
        });
    }

    // scoreTitles(prompts: string[], set: NativeTitleSet, opts: TitleScoreOptions, cancel?: Int32Array)
    //   -> Promise<{logProbs, logTotal, logTotalUpper, stats}[]>
    Napi::Value ScoreTitles(const Napi::CallbackInfo &info) {
        Napi::Env env = info.Env();
        return guarded(env, [&]() -> Napi::Value {
            auto m = live(env);
            if (!info[0].IsArray()) throw make_error(env, "INPUT", "prompts must be an array of strings");
            if (!info[1].IsObject() || !info[1].As<Napi::Object>().InstanceOf(TitleSetWrap::ctor.Value()))
                throw make_error(env, "INPUT", "the second argument must be a title set");
            auto set = TitleSetWrap::Unwrap(info[1].As<Napi::Object>())->set;
            Napi::Array arr = info[0].As<Napi::Array>();
            std::vector<std::string> prompts;
            for (uint32_t i = 0; i < arr.Length(); ++i) {
                Napi::Value v = arr.Get(i);
                if (!v.IsString()) throw make_error(env, "INPUT", "prompt " + std::to_string(i) + " is not a string");
                prompts.push_back(v.As<Napi::String>().Utf8Value());
            }
            const auto opts = read_options<labor::ScoreOptions>(env, info[2], "scoreTitles");
            auto results = std::make_shared<std::vector<labor::TitleScores>>();
            return Job::start(
                env,
                [m, set, prompts, opts, results](const int32_t *flag) {
                    labor::CallScope scope(*m, flag);
                    if (opts.cross_batch > 1 && opts.mode == labor::ScoreMode::Trie)
                        *results = labor::score_titles_group(*m, *set, prompts, opts);
                    else
                        for (const auto &p : prompts) results->push_back(labor::score_titles(*m, *set, p, opts));
                },
                [results](Napi::Env env) -> Napi::Value {
                    return labor_addon::array_of(env, *results, [&](const labor::TitleScores &r) {
                        Napi::Object o = Napi::Object::New(env);
                        o.Set("logProbs", to_f64(env, r.logp));
                        o.Set("logTotal", r.log_total);
                        o.Set("logTotalUpper", r.log_total_upper);
                        o.Set("stats", stats_to_js(env, r.stats));
                        return o;
                    });
                },
                info[3]);
        });
    }

    // scoreSpans(text: string, spans: Uint32Array [start0, end0, start1, end1, ...] UTF-8 byte offsets,
    //   cancel?: Int32Array) -> Promise<{logProbs, spanTokens, stats}>
    Napi::Value ScoreSpans(const Napi::CallbackInfo &info) {
        Napi::Env env = info.Env();
        return guarded(env, [&]() -> Napi::Value {
            auto m = live(env);
            if (!info[0].IsString()) throw make_error(env, "INPUT", "text must be a string");
            if (!info[1].IsTypedArray()) throw make_error(env, "INPUT", "spans must be a Uint32Array of offset pairs");
            Napi::Uint32Array a = info[1].As<Napi::Uint32Array>();
            if (a.ElementLength() % 2 != 0) throw make_error(env, "INPUT", "spans must hold start/end pairs");
            std::vector<std::pair<uint32_t, uint32_t>> spans;
            for (size_t i = 0; i + 1 < a.ElementLength(); i += 2) spans.emplace_back(a[i], a[i + 1]);
            std::string text = info[0].As<Napi::String>().Utf8Value();
            auto result = std::make_shared<labor::SpanScores>();
            return Job::start(
                env,
                [m, text, spans, result](const int32_t *flag) {
                    labor::CallScope scope(*m, flag);
                    *result = labor::score_spans(*m, text, spans);
                },
                [result](Napi::Env env) -> Napi::Value {
                    Napi::Object o = Napi::Object::New(env);
                    o.Set("logProbs", to_f64(env, result->logp));
                    Napi::Int32Array n = Napi::Int32Array::New(env, result->span_tokens.size());
                    for (size_t i = 0; i < result->span_tokens.size(); ++i) n[i] = result->span_tokens[i];
                    o.Set("spanTokens", n);
                    o.Set("stats", stats_to_js(env, result->stats));
                    return o;
                },
                info[2]);
        });
    }

    // throughput(opts: ThroughputOptions) -> Promise<{tokens, decodeCalls, msDecode, msLogsumexp}>
    Napi::Value MeasureThroughput(const Napi::CallbackInfo &info) {
        Napi::Env env = info.Env();
        return guarded(env, [&]() -> Napi::Value {
            auto m = live(env);
            const auto o = read_options<labor::ThroughputOptions>(env, info[0], "throughput");
            auto result = std::make_shared<labor::Throughput>();
            return Job::start(
                env,
                [m, o, result](const int32_t *) {
                    std::lock_guard<std::mutex> lock(m->mutex());
                    *result = labor::measure_throughput(*m, o.tokens, o.all_logits, o.with_logsumexp, o.output_head);
                },
                [result](Napi::Env env) -> Napi::Value {
                    Napi::Object o = Napi::Object::New(env);
                    o.Set("tokens", (double)result->tokens);
                    o.Set("decodeCalls", (double)result->decode_calls);
                    o.Set("msDecode", result->ms_decode);
                    o.Set("msLogsumexp", result->ms_logsumexp);
                    return o;
                },
                env.Undefined());
        });
    }

    Napi::Value Free(const Napi::CallbackInfo &info) {
        model.reset();
        return info.Env().Undefined();
    }
};
Napi::FunctionReference ModelWrap::ctor;

// loadModel(opts: LoadModelOptions) -> Promise<NativeModel>
Napi::Value LoadModel(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    return guarded(env, [&]() -> Napi::Value {
        const auto opts = read_options<labor::ModelOptions>(env, info[0], "loadModel");
        auto result = std::make_shared<std::shared_ptr<labor::Model>>();
        return Job::start(
            env, [opts, result](const int32_t *) { *result = std::make_shared<labor::Model>(opts); },
            [result](Napi::Env env) -> Napi::Value {
                Napi::Object w = ModelWrap::ctor.New({});
                ModelWrap::Unwrap(w)->model = *result;
                return w;
            },
            env.Undefined());
    });
}

// systemInfo() -> {llama, gpuOffload, maxSequences}
Napi::Value SystemInfo(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    Napi::Object o = Napi::Object::New(env);
    o.Set("llama", llama_print_system_info());
    o.Set("gpuOffload", llama_supports_gpu_offload());
    o.Set("maxSequences", labor::Model::kMaxSeq);
    return o;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
    TitleSetWrap::Init(env);
    ModelWrap::Init(env);
    exports.Set("loadModel", Napi::Function::New(env, LoadModel));
    exports.Set("systemInfo", Napi::Function::New(env, SystemInfo));
    Napi::Object keys = Napi::Object::New(env);
    keys.Set("loadModel", labor_addon::option_keys<labor::ModelOptions>(env));
    keys.Set("loraAdapter", labor_addon::option_keys<labor::LoraAdapter>(env));
    keys.Set("scoreTitles", labor_addon::option_keys<labor::ScoreOptions>(env));
    keys.Set("throughput", labor_addon::option_keys<labor::ThroughputOptions>(env));
    Napi::Object defaults = Napi::Object::New(env);
    defaults.Set("loadModel", labor_addon::options_to_js(env, labor::ModelOptions()));
    defaults.Set("scoreTitles", labor_addon::options_to_js(env, labor::ScoreOptions()));
    defaults.Set("throughput", labor_addon::options_to_js(env, labor::ThroughputOptions()));
    RegisterTrain(env, exports, keys, defaults);
    RegisterCareer(env, exports, keys, defaults);
    exports.Set("optionKeys", keys);
    exports.Set("optionDefaults", defaults);
    return exports;
}

}  // namespace

NODE_API_MODULE(labor_llm, Init)
