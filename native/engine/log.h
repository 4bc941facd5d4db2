// llama.cpp's log goes through here: kept quiet unless LABOR_LLM_LOG=1, and the recent warnings
// and errors are remembered so that a failed load can say why.
#pragma once
#include <string>

namespace labor {
void install_log_handler();
// The last error/warning lines llama.cpp logged on this thread since the last call (then cleared).
std::string take_recent_log_errors();
}  // namespace labor
