#include "career_gguf.h"

#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "errors.h"
#include "gguf_file.h"

namespace labor::career {
namespace {


const char *kLayers = "career.block_count";
const char *kWidth = "career.embedding_length";
const char *kHeads = "career.head_count";
const char *kFf = "career.feed_forward_length";
const char *kCodes = "career.code_count";
const char *kCovNames = "career.covariates";
const char *kCovSizes = "career.covariate_sizes";

bool is_hyperparameter(const std::string &k) {
    return k == "general.architecture" || k == kLayers || k == kWidth || k == kHeads || k == kFf || k == kCodes ||
           k == kCovNames || k == kCovSizes;
}

}  // namespace

void save(const Weights &w, const Metadata &meta, const std::string &path) {
    const Config &c = w.config();
    GgufPtr g(gguf_init_empty());
    gguf_set_val_str(g.get(), "general.architecture", kArchitecture);
    gguf_set_val_u32(g.get(), kLayers, (uint32_t)c.layers);
    gguf_set_val_u32(g.get(), kWidth, (uint32_t)c.width);
    gguf_set_val_u32(g.get(), kHeads, (uint32_t)c.heads);
    gguf_set_val_u32(g.get(), kFf, (uint32_t)c.ff);
    gguf_set_val_u32(g.get(), kCodes, (uint32_t)c.n_codes);
    std::vector<const char *> names;
    for (const std::string &n : c.covariate_names) names.push_back(n.c_str());
    gguf_set_arr_str(g.get(), kCovNames, names.data(), names.size());
    gguf_set_arr_data(g.get(), kCovSizes, GGUF_TYPE_INT32, c.covariate_sizes.data(), c.covariate_sizes.size());
    for (const auto &[k, v] : meta.strings) gguf_set_val_str(g.get(), k.c_str(), v.c_str());
    for (const auto &[k, v] : meta.numbers) gguf_set_val_f64(g.get(), k.c_str(), v);
    for (const auto &[k, v] : meta.lists) {
        std::vector<const char *> p;
        for (const std::string &s : v) p.push_back(s.c_str());
        gguf_set_arr_str(g.get(), k.c_str(), p.data(), p.size());
    }
    for (ggml_tensor *t : w.tensors()) gguf_add_tensor(g.get(), t);

    static std::atomic<unsigned> counter{0};
    const std::string tmp = path + ".career-" + std::to_string((long)getpid()) + "-" + std::to_string(counter++) + ".tmp";
    if (!gguf_write_to_file(g.get(), tmp.c_str(), false)) {
        std::remove(tmp.c_str());
        fail(ErrorKind::Input, "could not write the CAREER model " + tmp + ": " + std::strerror(errno));
    }
    if (std::rename(tmp.c_str(), path.c_str()) != 0) {
        const int e = errno;
        std::remove(tmp.c_str());
        fail(ErrorKind::Input, "cannot move the CAREER model to " + path + ": " + std::strerror(e));
    }
}

std::unique_ptr<Weights> load(const std::string &path, Metadata *meta) {
    auto bad = [&](const std::string &m) { fail(ErrorKind::Model, path + ": " + m); };
    ggml_context *tctx = nullptr;
    GgufPtr g = open_gguf(path, "CAREER model", ErrorKind::Model, &tctx);
    GgmlContextPtr tensors(tctx);
    auto key = [&](const char *k, gguf_type type) {
        const int64_t i = gguf_find_key(g.get(), k);
        if (i < 0) bad(std::string("no key ") + k);
        if (gguf_get_kv_type(g.get(), i) != type) bad(std::string("key ") + k + " has the wrong type");
        return i;
    };
    const std::string arch = gguf_get_val_str(g.get(), key("general.architecture", GGUF_TYPE_STRING));
    if (arch != kArchitecture) bad("architecture \"" + arch + "\" is not a CAREER model (\"career\")");
    Config c;
    auto u32 = [&](const char *k) {
        const uint32_t v = gguf_get_val_u32(g.get(), key(k, GGUF_TYPE_UINT32));
        if (v > 1u << 20) bad(std::string("key ") + k + " is out of range");
        return (int32_t)v;
    };
    c.layers = u32(kLayers);
    c.width = u32(kWidth);
    c.heads = u32(kHeads);
    c.ff = u32(kFf);
    c.n_codes = u32(kCodes);
    const int64_t ni = key(kCovNames, GGUF_TYPE_ARRAY), si = key(kCovSizes, GGUF_TYPE_ARRAY);
    if (gguf_get_arr_type(g.get(), ni) != GGUF_TYPE_STRING || gguf_get_arr_type(g.get(), si) != GGUF_TYPE_INT32 ||
        gguf_get_arr_n(g.get(), ni) != gguf_get_arr_n(g.get(), si))
        bad("the covariate keys are malformed");
    const size_t F = gguf_get_arr_n(g.get(), ni);
    const int32_t *sizes = static_cast<const int32_t *>(gguf_get_arr_data(g.get(), si));
    for (size_t f = 0; f < F; ++f) {
        c.covariate_names.emplace_back(gguf_get_arr_str(g.get(), ni, f));
        c.covariate_sizes.push_back(sizes[f]);
    }
    try {
        c.validate();
    } catch (const EngineException &e) {
        bad(e.what());
    }
    // The header's sizes must match the tensors the file holds before anything is allocated from them.
    int64_t held = 0;
    for (int64_t i = 0; i < gguf_get_n_tensors(g.get()); ++i) held += (int64_t)(gguf_get_tensor_size(g.get(), i) / sizeof(float));
    if (held != c.n_params())
        bad("holds " + std::to_string(held) + " weights, its header describes a model of " + std::to_string(c.n_params()));
    auto w = std::make_unique<Weights>(c);
    if (gguf_get_n_tensors(g.get()) != (int64_t)w->tensors().size())
        bad("has " + std::to_string(gguf_get_n_tensors(g.get())) + " tensors, a CAREER model of this shape " +
            std::to_string(w->tensors().size()));
    for (ggml_tensor *t : w->tensors()) {
        ggml_tensor *s = ggml_get_tensor(tensors.get(), ggml_get_name(t));
        if (!s) bad(std::string("no tensor ") + ggml_get_name(t));
        if (s->type != GGML_TYPE_F32 || !ggml_are_same_shape(s, t))
            bad(std::string("tensor ") + ggml_get_name(t) + " has the wrong type or shape");
        std::memcpy(t->data, s->data, ggml_nbytes(t));
    }
    if (meta) {
        for (int64_t i = 0; i < gguf_get_n_kv(g.get()); ++i) {
            const std::string k = gguf_get_key(g.get(), i);
            if (is_hyperparameter(k)) continue;
            const gguf_type type = gguf_get_kv_type(g.get(), i);
            if (type == GGUF_TYPE_STRING) meta->strings.emplace_back(k, gguf_get_val_str(g.get(), i));
            else if (type == GGUF_TYPE_FLOAT64) meta->numbers.emplace_back(k, gguf_get_val_f64(g.get(), i));
            else if (type == GGUF_TYPE_ARRAY && gguf_get_arr_type(g.get(), i) == GGUF_TYPE_STRING) {
                std::vector<std::string> v;
                for (size_t j = 0; j < gguf_get_arr_n(g.get(), i); ++j) v.emplace_back(gguf_get_arr_str(g.get(), i, j));
                meta->lists.emplace_back(k, std::move(v));
            }
        }
    }
    return w;
}

}  // namespace labor::career
