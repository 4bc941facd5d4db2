// Options that cross the N-API boundary are plain structs whose member initialisers are the defaults,
// each with one table, a static `fields(v, o)`, that names every member as JavaScript spells it and
// gives numeric members their range:
//
//     template <class V, class O> static void fields(V &v, O &o) {
//         v.integer("contextSize", o.context_size, {64, INT32_MAX});
//         v.choice("kvCache", o.kv_cache, {{"f16", KvCache::F16}, {"f32", KvCache::F32}});
//         v.value("useMmap", o.use_mmap);
//     }
//
// The addon reads JavaScript objects through the table (native/addon/option_reader.h) and lists its keys
// (the drift test compares them with the TypeScript declaration); validate() checks a struct through
// it. So a name, a default and a range are each written once. Messages name options as JavaScript
// does, since that is where they are set.
#pragma once
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <initializer_list>
#include <limits>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "errors.h"

namespace labor::options {

// An inclusive integer range.
struct Int {
    int64_t lo, hi;
};

// A real range; an infinite bound is open (finite numbers only).
struct Real {
    double lo, hi;
    bool lo_open = false, hi_open = false;
};
inline constexpr double kInf = std::numeric_limits<double>::infinity();
inline constexpr Real kFinite{-kInf, kInf, true, true};
inline constexpr Real kPositive{0, kInf, true, true};
inline constexpr Real kUnit{0, 1};                  // [0, 1]
inline constexpr Real kUnitOpenTop{0, 1, false, true};   // [0, 1)
inline constexpr Real kUnitOpenBottom{0, 1, true, false};  // (0, 1]
inline constexpr int64_t kInt32Max = std::numeric_limits<int32_t>::max();
inline constexpr int64_t kSafeIntegerMax = 9007199254740991;  // Number.MAX_SAFE_INTEGER

inline bool in_range(double x, const Real &r) {
    if (std::isnan(x)) return false;
    return (r.lo_open ? x > r.lo : x >= r.lo) && (r.hi_open ? x < r.hi : x <= r.hi);
}

// A number as JavaScript's String() writes it, for the C++ side of a message.
inline std::string js_number(double x) {
    if (std::isnan(x)) return "NaN";
    if (std::isinf(x)) return x > 0 ? "Infinity" : "-Infinity";
    if (x == std::floor(x) && std::fabs(x) < 1e21) return std::to_string((long long)x);
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.17g", x);
    for (int p = 1; p < 17; ++p) {  // the shortest that reads back the same
        char b[32];
        std::snprintf(b, sizeof b, "%.*g", p, x);
        if (std::strtod(b, nullptr) == x) return b;
    }
    return buf;
}

[[noreturn]] inline void fail_integer(const std::string &name, const Int &r, const std::string &got) {
    fail(ErrorKind::Input, name + " must be an integer in [" + std::to_string(r.lo) + ", " + std::to_string(r.hi) + "], got " + got);
}

[[noreturn]] inline void fail_real(const std::string &name, const Real &r, const std::string &got) {
    std::string want;
    if (std::isinf(r.lo) && std::isinf(r.hi)) want = "a finite number";
    else if (std::isinf(r.hi)) want = std::string(r.lo_open ? "> " : ">= ") + js_number(r.lo);
    else
        want = std::string("in ") + (r.lo_open ? "(" : "[") + js_number(r.lo) + ", " + js_number(r.hi) + (r.hi_open ? ")" : "]");
    fail(ErrorKind::Input, name + " must be " + want + ", got " + got);
}

// Whether T is an options struct (has a fields table).
struct Probe;
template <class T, class = void>
struct has_fields : std::false_type {};
template <class T>
struct has_fields<T, std::void_t<decltype(&T::template fields<Probe, T>)>> : std::true_type {};

// Checks every ranged member of a struct (nested structs and lists of them included) against its
// table; names in messages carry the path ("config.layers", "lora[0].scale").
class Checker {
  public:
    explicit Checker(std::string prefix = "") : prefix_(std::move(prefix)) {}

    template <class T>
    void integer(const char *name, const T &v, const Int &r) {
        if ((int64_t)v < r.lo || (int64_t)v > r.hi || (std::is_unsigned_v<T> && (uint64_t)v > (uint64_t)r.hi))
            fail_integer(prefix_ + name, r, std::to_string(v));
    }
    template <class T>
    void real(const char *name, const T &v, const Real &r) {
        if (!in_range((double)v, r)) fail_real(prefix_ + name, r, js_number((double)v));
    }
    template <class E>
    void choice(const char *, const E &, std::initializer_list<std::pair<const char *, E>>) {}
    template <class T>
    void value(const char *name, const T &v) {
        if constexpr (has_fields<T>::value) {
            Checker nested(prefix_ + name + ".");
            T::fields(nested, v);
        } else if constexpr (is_list_of_structs<T>::value) {
            for (size_t i = 0; i < v.size(); ++i) {
                Checker nested(prefix_ + name + "[" + std::to_string(i) + "].");
                T::value_type::fields(nested, v[i]);
            }
        }
    }

  private:
    template <class T>
    struct is_list_of_structs : std::false_type {};
    template <class S>
    struct is_list_of_structs<std::vector<S>> : has_fields<S> {};
    std::string prefix_;
};

// Checks `o` against its table: what validate() starts with.
template <class T>
void check_ranges(const T &o) {
    Checker c;
    T::fields(c, o);
}

// Used by validate() for a required path or name.
inline void require(const char *name, const std::string &s, const char *what) {
    if (s.empty()) fail(ErrorKind::Input, std::string(name) + " must be " + what);
}

}  // namespace labor::options
