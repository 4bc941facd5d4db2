// Reading an options struct from a JavaScript object through its fields table (native/engine/
// options.h): one typed helper per C++ member type. The struct's member initialisers are the
// defaults (an absent or undefined key keeps its default) and its validate() the checks; a number
// is held to its table range as it is read, since it must fit its C++ member before it is stored
// (4294967296 would wrap to 0 in an int), with the message validate() gives. The same table lists
// the keys each struct reads (`optionKeys`, for the drift test) and writes the defaults back
// (`optionDefaults`).
#pragma once
#include <napi.h>

#include <cmath>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "common.h"
#include "errors.h"
#include "options.h"

namespace labor_addon {

namespace opt = labor::options;

// Reads a type the tables use but the generic reader does not know (career's Dataset, Metadata):
// defined next to the N-API surface that owns the type.
template <class T>
void read_value(Napi::Env env, const Napi::Value &v, const std::string &name, T &out);

class OptionReader {
  public:
    OptionReader(Napi::Env env, Napi::Object o, std::string prefix) : env_(env), o_(o), prefix_(std::move(prefix)) {}

    template <class T>
    void integer(const char *key, T &field, const opt::Int &r) {
        Napi::Value v;
        if (!get(key, v)) return;
        const double d = v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : NAN;
        if (!(d == std::floor(d) && d >= (double)r.lo && d <= (double)r.hi)) opt::fail_integer(prefix_ + key, r, shown(v));
        field = (T)d;
    }
    template <class T>
    void real(const char *key, T &field, const opt::Real &r) {
        Napi::Value v;
        if (!get(key, v)) return;
        const double d = v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : NAN;
        if (!opt::in_range(d, r)) opt::fail_real(prefix_ + key, r, shown(v));
        field = (T)d;
    }
    template <class E>
    void choice(const char *key, E &field, std::initializer_list<std::pair<const char *, E>> names) {
        Napi::Value v;
        if (!get(key, v)) return;
        const std::string s = v.IsString() ? v.As<Napi::String>().Utf8Value() : std::string();
        std::string list;
        for (const auto &[name, value] : names) {
            if (v.IsString() && s == name) {
                field = value;
                return;
            }
            list += (list.empty() ? "" : ", ") + std::string(name);
        }
        labor::fail(labor::ErrorKind::Input, prefix_ + key + " must be one of " + list + ", got " + shown(v));
    }
    template <class T>
    void value(const char *key, T &field) {
        Napi::Value v;
        if (get(key, v)) read(v, prefix_ + key, field);
    }

    // One value of any type the tables use, named `name` in messages.
    void read(const Napi::Value &v, const std::string &name, bool &out) {
        if (!v.IsBoolean()) type_error(name, "a boolean", v);
        out = v.As<Napi::Boolean>().Value();
    }
    void read(const Napi::Value &v, const std::string &name, std::string &out) {
        if (!v.IsString()) type_error(name, "a string", v);
        out = v.As<Napi::String>().Utf8Value();
    }
    void read(const Napi::Value &v, const std::string &name, std::vector<std::string> &out) {
        list(v, name, out, "an array of strings");
    }
    void read(const Napi::Value &v, const std::string &name, std::vector<int32_t> &out) {
        if (!v.IsArray()) type_error(name, "an array of integers", v);
        Napi::Array a = v.As<Napi::Array>();
        out.clear();
        for (uint32_t i = 0; i < a.Length(); ++i) {
            Napi::Value x = a.Get(i);
            const double d = x.IsNumber() ? x.As<Napi::Number>().DoubleValue() : NAN;
            if (!(d == std::floor(d) && std::fabs(d) <= 2147483647.0)) type_error(name, "an array of integers", v);
            out.push_back((int32_t)d);
        }
    }
    template <class S>
    void read(const Napi::Value &v, const std::string &name, S &out) {
        if constexpr (opt::has_fields<S>::value) {
            if (!v.IsObject()) type_error(name, "an object", v);
            OptionReader nested(env_, v.As<Napi::Object>(), name + ".");
            S::fields(nested, out);
        } else {
            read_value(env_, v, name, out);
        }
    }
    template <class S>
    void read(const Napi::Value &v, const std::string &name, std::vector<S> &out) {
        list(v, name, out, "an array");
    }

  private:
    bool get(const char *key, Napi::Value &v) {
        v = o_.Get(key);
        return !v.IsUndefined();
    }
    template <class T>
    void list(const Napi::Value &v, const std::string &name, std::vector<T> &out, const char *what) {
        if (!v.IsArray()) type_error(name, what, v);
        Napi::Array a = v.As<Napi::Array>();
        out.assign(a.Length(), T{});
        for (uint32_t i = 0; i < a.Length(); ++i) read(a.Get(i), name + "[" + std::to_string(i) + "]", out[i]);
    }
    // String(v), as the message of a TypeScript check would show it.
    static std::string shown(const Napi::Value &v) {
        if (v.IsString()) return "\"" + v.As<Napi::String>().Utf8Value() + "\"";
        if (v.IsObject() && !v.IsFunction()) return v.IsArray() ? "an array" : "an object";
        return v.ToString().Utf8Value();
    }
    [[noreturn]] static void type_error(const std::string &name, const char *what, const Napi::Value &v) {
        labor::fail(labor::ErrorKind::Input, name + " must be " + what + ", got " + shown(v));
    }

    Napi::Env env_;
    Napi::Object o_;
    std::string prefix_;
};

// Reads options of type T from `v` (an object; undefined: all defaults) and validates them. Throws
// EngineException(Input) naming the option; the callers turn it into a typed JS error.
template <class T>
T read_options(Napi::Env env, const Napi::Value &v, const char *what) {
    T out;
    if (!v.IsUndefined()) {
        if (!v.IsObject()) labor::fail(labor::ErrorKind::Input, std::string(what) + " needs an options object");
        OptionReader r(env, v.As<Napi::Object>(), "");
        T::fields(r, out);
    }
    out.validate();
    return out;
}

// Reads one argument that is not an options object (a list of LoRA adapters), named `name` in messages.
template <class T>
T read_argument(Napi::Env env, const Napi::Value &v, const std::string &name) {
    T out{};
    OptionReader(env, Napi::Object::New(env), "").read(v, name, out);
    return out;
}

// Writes an options struct back as the JS object its table reads (a model's CAREER shape).
class OptionWriter {
  public:
    OptionWriter(Napi::Env env, Napi::Object o) : env_(env), o_(o) {}
    template <class T>
    void integer(const char *key, const T &v, const opt::Int &) { o_.Set(key, Napi::Number::New(env_, (double)v)); }
    template <class T>
    void real(const char *key, const T &v, const opt::Real &) { o_.Set(key, Napi::Number::New(env_, (double)v)); }
    template <class E>
    void choice(const char *key, const E &v, std::initializer_list<std::pair<const char *, E>> names) {
        for (const auto &[name, value] : names)
            if (value == v) o_.Set(key, name);
    }
    void value(const char *key, const bool &v) { o_.Set(key, v); }
    void value(const char *key, const std::string &v) { o_.Set(key, v); }
    template <class T>
    void value(const char *key, const std::vector<T> &v) {
        o_.Set(key, array_of(env_, v, [this](const T &x) -> Napi::Value {
                    if constexpr (opt::has_fields<T>::value) {
                        Napi::Object e = Napi::Object::New(env_);
                        OptionWriter w(env_, e);
                        T::fields(w, x);
                        return e;
                    } else {
                        return Napi::Value::From(env_, x);
                    }
                }));
    }
    template <class T>
    void value(const char *, const T &) {}  // career data and metadata: no default worth showing

  private:
    Napi::Env env_;
    Napi::Object o_;
};

template <class T>
Napi::Object options_to_js(Napi::Env env, const T &opts) {
    Napi::Object o = Napi::Object::New(env);
    OptionWriter w(env, o);
    T::fields(w, opts);
    return o;
}

// The keys T's table reads, in table order.
class KeyLister {
  public:
    template <class T>
    void integer(const char *key, T &, const opt::Int &) { keys.emplace_back(key); }
    template <class T>
    void real(const char *key, T &, const opt::Real &) { keys.emplace_back(key); }
    template <class E>
    void choice(const char *key, E &, std::initializer_list<std::pair<const char *, E>>) { keys.emplace_back(key); }
    template <class T>
    void value(const char *key, T &) { keys.emplace_back(key); }
    std::vector<std::string> keys;
};

template <class T>
Napi::Array option_keys(Napi::Env env) {
    KeyLister lister;
    T probe;
    T::fields(lister, probe);
    Napi::Array a = Napi::Array::New(env, lister.keys.size());
    for (size_t i = 0; i < lister.keys.size(); ++i) a.Set((uint32_t)i, lister.keys[i]);
    return a;
}

}  // namespace labor_addon
