// Pieces every N-API module (scoring in addon.cpp, training in train.cpp, CAREER in career.cpp)
// shares: typed errors, cancel flags, and turning any C++ exception into an error code and message.
#pragma once
#include <napi.h>

#include <cmath>
#include <functional>
#include <new>
#include <string>
#include <vector>

#include "errors.h"

namespace labor_addon {

inline Napi::Error make_error(Napi::Env env, const std::string &code, const std::string &message) {
    Napi::Error e = Napi::Error::New(env, message);
    e.Value().Set("code", Napi::String::New(env, code));
    return e;
}

// A cancel flag is an Int32Array over a SharedArrayBuffer: JS stores 1, the engine reads it.
// Data() reads napi_get_typedarray_info, which also works over a SharedArrayBuffer.
inline const int32_t *cancel_flag_of(const Napi::Value &v) {
    if (!v.IsTypedArray()) return nullptr;
    Napi::TypedArray ta = v.As<Napi::TypedArray>();
    if (ta.TypedArrayType() != napi_int32_array || ta.ElementLength() < 1) return nullptr;
    return v.As<Napi::Int32Array>().Data();
}

// Whether JS has set the flag (null: a call without one).
inline bool cancel_requested(const int32_t *flag) { return flag != nullptr && __atomic_load_n(flag, __ATOMIC_RELAXED) != 0; }

// Runs work on the calling (worker) thread. Returns false with code and message filled when it
// threw; nothing escapes, so no exception can cross into libuv or N-API.
inline bool run_catching(const std::function<void()> &work, std::string &code, std::string &message) {
    try {
        work();
        return true;
    } catch (const labor::EngineException &e) {
        code = labor::error_kind_name(e.kind());
        message = e.what();
    } catch (const std::bad_alloc &) {
        code = "ENGINE";
        message = "out of memory";
    } catch (const std::exception &e) {
        code = "ENGINE";
        message = e.what();
    } catch (...) {
        code = "ENGINE";
        message = "unknown native error";
    }
    return false;
}

// A loss for JS: null where it is not a number yet (an epoch without training, a diverged run).
inline Napi::Value number_or_null(Napi::Env env, double x) { return std::isfinite(x) ? Napi::Number::New(env, x) : env.Null(); }

// A JS array of items converted one by one.
template <class T, class F>
Napi::Array array_of(Napi::Env env, const std::vector<T> &items, F &&to_js) {
    Napi::Array a = Napi::Array::New(env, items.size());
    for (size_t i = 0; i < items.size(); ++i) a.Set((uint32_t)i, to_js(items[i]));
    return a;
}

// Runs a synchronous part of a call (reading its arguments, a quick native call) so that engine
// errors become typed JS exceptions.
template <class F>
Napi::Value guarded(Napi::Env env, F &&f) {
    try {
        return f();
    } catch (const labor::EngineException &e) {
        throw make_error(env, labor::error_kind_name(e.kind()), e.what());
    } catch (const Napi::Error &) {
        throw;
    } catch (const std::exception &e) {
        throw make_error(env, "ENGINE", e.what());
    }
}

}  // namespace labor_addon
