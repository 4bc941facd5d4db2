// Engine errors. Every failure inside the engine is an EngineException with a kind that the
// N-API layer turns into a typed JS error; nothing is allowed to abort the process.
#pragma once
#include <stdexcept>
#include <string>

namespace labor {

enum class ErrorKind { Input, Model, Engine, Cancelled, State };

inline const char *error_kind_name(ErrorKind k) {
    switch (k) {
        case ErrorKind::Input: return "INPUT";
        case ErrorKind::Model: return "MODEL";
        case ErrorKind::Cancelled: return "CANCELLED";
        case ErrorKind::State: return "STATE";
        default: return "ENGINE";
    }
}

class EngineException : public std::runtime_error {
  public:
    EngineException(ErrorKind kind, const std::string &msg) : std::runtime_error(msg), kind_(kind) {}
    ErrorKind kind() const { return kind_; }

  private:
    ErrorKind kind_;
};

[[noreturn]] inline void fail(ErrorKind kind, const std::string &msg) { throw EngineException(kind, msg); }

}  // namespace labor
