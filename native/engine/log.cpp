#include "log.h"

#include <cstdio>
#include <cstdlib>
#include <deque>
#include <mutex>

#include "llama.h"

namespace labor {
namespace {
thread_local std::deque<std::string> recent;
thread_local std::string partial;
bool verbose = false;

void on_log(enum ggml_log_level level, const char *text, void *) {
    if (verbose) {
        std::fputs(text, stderr);
    }
    // Lines may arrive in pieces (GGML_LOG_LEVEL_CONT continues the previous one).
    if (level == GGML_LOG_LEVEL_ERROR || level == GGML_LOG_LEVEL_WARN ||
        (level == GGML_LOG_LEVEL_CONT && !partial.empty())) {
        partial += text;
        if (!partial.empty() && partial.back() == '\n') {
            partial.pop_back();
            // The unified KV cache always triggers this one; it says nothing about a failure.
            if (partial.find("n_ctx_seq") == std::string::npos) recent.push_back(partial);
            partial.clear();
            if (recent.size() > 8) recent.pop_front();
        }
    }
}
}  // namespace

void install_log_handler() {
    static std::once_flag once;
    std::call_once(once, [] {
        const char *env = std::getenv("LABOR_LLM_LOG");
        verbose = env != nullptr && env[0] == '1';
        llama_log_set(on_log, nullptr);
        llama_backend_init();
    });
}

std::string take_recent_log_errors() {
    std::string out;
    for (auto &line : recent) {
        if (!out.empty()) out += "; ";
        out += line;
    }
    recent.clear();
    partial.clear();
    return out;
}
}  // namespace labor
