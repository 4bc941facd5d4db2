#include "gguf_file.h"

#include <sys/stat.h>

#include <cstdio>

#include "log.h"

namespace labor {

GgufPtr open_gguf(const std::string &path, const std::string &what, ErrorKind kind, ggml_context **data) {
    struct stat st {};
    if (stat(path.c_str(), &st) != 0) fail(kind, what + " file not found: " + path);
    if (!S_ISREG(st.st_mode)) fail(kind, what + " path is not a file: " + path);
    FILE *f = std::fopen(path.c_str(), "rb");
    if (!f) fail(kind, "cannot open " + what + " file: " + path);
    char magic[4] = {0, 0, 0, 0};
    const size_t got = std::fread(magic, 1, 4, f);
    std::fclose(f);
    if (got < 4 || std::string(magic, 4) != "GGUF") fail(kind, path + " is not a GGUF file (bad magic bytes)");
    install_log_handler();
    take_recent_log_errors();
    gguf_init_params params{};
    params.no_alloc = data == nullptr;
    params.ctx = data;
    GgufPtr g(gguf_init_from_file(path.c_str(), params));
    if (!g) {
        const std::string why = take_recent_log_errors();
        fail(kind, path + " is a truncated or corrupt GGUF file" + (why.empty() ? "" : ": " + why));
    }
    return g;
}

std::string gguf_string(const gguf_context *g, const char *key) {
    const int64_t k = gguf_find_key(g, key);
    return k >= 0 && gguf_get_kv_type(g, k) == GGUF_TYPE_STRING ? gguf_get_val_str(g, k) : "";
}

}  // namespace labor
