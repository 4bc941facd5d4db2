#include "random_model.h"

#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <deque>
#include <future>
#include <memory>
#include <stdexcept>
#include <chrono>

#include "ggml.h"
#include "gguf.h"

namespace labor_bench {
namespace {

// Murmur3's finalizer, as mix32 in src/models/gguf/prng.ts.
uint32_t mix32(uint32_t x) {
    x = (x ^ (x >> 16)) * 0x85ebca6bu;
    x = (x ^ (x >> 13)) * 0xc2b2ae35u;
    return x ^ (x >> 16);
}

uint32_t rotl(uint32_t x, int k) { return (x << k) | (x >> (32 - k)); }

enum class Role { Embedding, Norm, Matrix };

struct TensorSpec {
    std::string name;
    std::vector<int64_t> dims;  // ggml order, ne0 first
    Role role;
    int64_t fan_in;  // ne0 of a matrix
    int64_t elements() const {
        int64_t n = 1;
        for (int64_t d : dims) n *= d;
        return n;
    }
};

// The tensor list of llamaTensorSpecs in src/models/gguf/llama.ts, in the same order.
std::vector<TensorSpec> tensor_specs(const LlamaShape &s) {
    const int64_t head_dim = s.n_embd / s.n_head;
    const int64_t n_embd_kv = head_dim * s.n_head_kv;
    std::vector<TensorSpec> out;
    out.push_back({"token_embd.weight", {s.n_embd, s.n_vocab}, Role::Embedding, 0});
    auto matrix = [](std::string name, int64_t ne0, int64_t ne1) {
        return TensorSpec{std::move(name), {ne0, ne1}, Role::Matrix, ne0};
    };
    auto norm = [&](std::string name) { return TensorSpec{std::move(name), {s.n_embd}, Role::Norm, 0}; };
    for (int64_t i = 0; i < s.n_layer; ++i) {
        const std::string b = "blk." + std::to_string(i);
        out.push_back(norm(b + ".attn_norm.weight"));
        out.push_back(matrix(b + ".attn_q.weight", s.n_embd, head_dim * s.n_head));
        out.push_back(matrix(b + ".attn_k.weight", s.n_embd, n_embd_kv));
        out.push_back(matrix(b + ".attn_v.weight", s.n_embd, n_embd_kv));
        out.push_back(matrix(b + ".attn_output.weight", head_dim * s.n_head, s.n_embd));
        out.push_back(norm(b + ".ffn_norm.weight"));
        out.push_back(matrix(b + ".ffn_gate.weight", s.n_embd, s.n_ff));
        out.push_back(matrix(b + ".ffn_up.weight", s.n_embd, s.n_ff));
        out.push_back(matrix(b + ".ffn_down.weight", s.n_ff, s.n_embd));
    }
    out.push_back(norm("output_norm.weight"));
    out.push_back(matrix("output.weight", s.n_embd, s.n_vocab));
    return out;
}

void check_shape(const LlamaShape &s, const std::string &file) {
    auto bad = [&](const std::string &field, const std::string &why) {
        throw std::invalid_argument(file + ": " + field + ": " + why);
    };
    const std::pair<const char *, int64_t> dims[] = {{"n_vocab", s.n_vocab}, {"n_embd", s.n_embd},     {"n_layer", s.n_layer},
                                                     {"n_head", s.n_head},   {"n_head_kv", s.n_head_kv}, {"n_ff", s.n_ff},
                                                     {"n_ctx", s.n_ctx}};
    for (auto &[name, v] : dims)
        if (v < 1 || v > 0xffffffffLL) bad(name, "must be a positive 32-bit integer, got " + std::to_string(v));
    if (s.n_embd % s.n_head != 0) bad("n_head", "n_embd " + std::to_string(s.n_embd) + " is not divisible by n_head");
    if (s.n_head % s.n_head_kv != 0) bad("n_head_kv", "n_head is not divisible by n_head_kv");
    // RoPE rotates pairs of dimensions within a head.
    if ((s.n_embd / s.n_head) % 2 != 0) bad("n_head", "the head size must be even");
}

// Element type of a tensor: norms stay f32 as llama.cpp's converters keep them.
ggml_type storage_type(const TensorSpec &t, WeightType w) {
    return t.role == Role::Norm || w == WeightType::F32 ? GGML_TYPE_F32 : GGML_TYPE_F16;
}

// One tensor's bytes as stored in the file, generated in fixed-size chunks from its own stream
// (chunking does not change the values: the stream is consumed in order).
std::vector<uint8_t> generate_tensor(const TensorSpec &t, ggml_type type, uint32_t seed, double init_scale) {
    const int64_t n = t.elements();
    const size_t esize = type == GGML_TYPE_F32 ? 4 : 2;
    std::vector<uint8_t> bytes((size_t)n * esize);
    Xoshiro128 rng(seed, hash_name(t.name));
    const int64_t chunk = 1 << 20;
    std::vector<float> buf((size_t)std::min<int64_t>(n, chunk));
    double std_dev = init_scale;
    if (t.role == Role::Matrix) std_dev = init_scale / std::sqrt((double)t.fan_in);
    if (t.role == Role::Norm) std_dev = 0.1 * init_scale;
    for (int64_t start = 0; start < n; start += chunk) {
        const int64_t m = std::min(chunk, n - start);
        rng.fill_uniform(buf.data(), (size_t)m, std_dev);
        // Around 1 rather than exactly 1, so that a misplaced norm tensor changes the output.
        if (t.role == Role::Norm)
            for (int64_t i = 0; i < m; ++i) buf[i] = 1.0f + buf[i];
        if (type == GGML_TYPE_F32) {
            std::memcpy(bytes.data() + (size_t)start * 4, buf.data(), (size_t)m * 4);
        } else {
            // ggml's conversion rounds to nearest even, as src/models/gguf/f16.ts does.
            ggml_fp32_to_fp16_row(buf.data(), reinterpret_cast<ggml_fp16_t *>(bytes.data()) + start, m);
        }
    }
    return bytes;
}

struct GgufDeleter {
    void operator()(gguf_context *g) const { gguf_free(g); }
};
struct GgmlDeleter {
    void operator()(ggml_context *c) const { ggml_free(c); }
};
using GgufPtr = std::unique_ptr<gguf_context, GgufDeleter>;

// Copies every tokenizer.* key of the vocabulary file, in its order; returns the token count.
int64_t copy_tokenizer(gguf_context *dst, const std::string &vocab_file) {
    gguf_init_params params{};
    params.no_alloc = true;
    params.ctx = nullptr;
    GgufPtr src(gguf_init_from_file(vocab_file.c_str(), params));
    if (!src) throw std::runtime_error(vocab_file + ": cannot read the vocabulary GGUF");
    int64_t n_vocab = -1;
    for (int64_t i = 0; i < gguf_get_n_kv(src.get()); ++i) {
        const std::string key = gguf_get_key(src.get(), i);
        if (key.rfind("tokenizer.", 0) != 0) continue;
        const char *k = key.c_str();
        const gguf_type type = gguf_get_kv_type(src.get(), i);
        switch (type) {
            case GGUF_TYPE_UINT8: gguf_set_val_u8(dst, k, gguf_get_val_u8(src.get(), i)); break;
            case GGUF_TYPE_INT8: gguf_set_val_i8(dst, k, gguf_get_val_i8(src.get(), i)); break;
            case GGUF_TYPE_UINT16: gguf_set_val_u16(dst, k, gguf_get_val_u16(src.get(), i)); break;
            case GGUF_TYPE_INT16: gguf_set_val_i16(dst, k, gguf_get_val_i16(src.get(), i)); break;
            case GGUF_TYPE_UINT32: gguf_set_val_u32(dst, k, gguf_get_val_u32(src.get(), i)); break;
            case GGUF_TYPE_INT32: gguf_set_val_i32(dst, k, gguf_get_val_i32(src.get(), i)); break;
            case GGUF_TYPE_FLOAT32: gguf_set_val_f32(dst, k, gguf_get_val_f32(src.get(), i)); break;
            case GGUF_TYPE_UINT64: gguf_set_val_u64(dst, k, gguf_get_val_u64(src.get(), i)); break;
            case GGUF_TYPE_INT64: gguf_set_val_i64(dst, k, gguf_get_val_i64(src.get(), i)); break;
            case GGUF_TYPE_FLOAT64: gguf_set_val_f64(dst, k, gguf_get_val_f64(src.get(), i)); break;
            case GGUF_TYPE_BOOL: gguf_set_val_bool(dst, k, gguf_get_val_bool(src.get(), i)); break;
            case GGUF_TYPE_STRING: gguf_set_val_str(dst, k, gguf_get_val_str(src.get(), i)); break;
            case GGUF_TYPE_ARRAY: {
                const gguf_type item = gguf_get_arr_type(src.get(), i);
                const size_t n = gguf_get_arr_n(src.get(), i);
                if (item == GGUF_TYPE_STRING) {
                    std::vector<const char *> strs(n);
                    for (size_t j = 0; j < n; ++j) strs[j] = gguf_get_arr_str(src.get(), i, j);
                    gguf_set_arr_str(dst, k, strs.data(), n);
                    if (key == "tokenizer.ggml.tokens") n_vocab = (int64_t)n;
                } else if (item == GGUF_TYPE_ARRAY) {
                    throw std::runtime_error(vocab_file + ": " + key + ": nested arrays are not supported");
                } else {
                    gguf_set_arr_data(dst, k, item, gguf_get_arr_data(src.get(), i), n);
                }
                break;
            }
            default: throw std::runtime_error(vocab_file + ": " + key + ": unknown GGUF value type");
        }
    }
    if (n_vocab < 1) throw std::runtime_error(vocab_file + ": no tokenizer.ggml.tokens array");
    return n_vocab;
}

}  // namespace

uint32_t hash_name(const std::string &name) {
    uint32_t h = 0x811c9dc5u;
    for (unsigned char b : name) h = (h ^ b) * 0x01000193u;
    return h;
}

Xoshiro128::Xoshiro128(uint32_t seed, uint32_t stream) {
    uint32_t z = seed ^ (stream * 0x9e3779b1u);
    auto next = [&z] {
        z += 0x9e3779b9u;
        return mix32(z);
    };
    s0_ = next();
    s1_ = next();
    s2_ = next();
    s3_ = next();
    // The all-zero state is the one state xoshiro cannot leave.
    if ((s0_ | s1_ | s2_ | s3_) == 0) s0_ = 1;
}

uint32_t Xoshiro128::next_u32() {
    const uint32_t result = rotl(s1_ * 5u, 7) * 9u;
    const uint32_t t = s1_ << 9;
    s2_ ^= s0_;
    s3_ ^= s1_;
    s1_ ^= s2_;
    s0_ ^= s3_;
    s2_ ^= t;
    s3_ = rotl(s3_, 11);
    return result;
}

void Xoshiro128::fill_uniform(float *out, size_t n, double std_dev) {
    const double a = std_dev * std::sqrt(3.0);
    // (k + 0.5) / 2^23 - 1 for a 24-bit k is exact in double; one rounding (the product), then
    // the conversion to float, exactly as the TypeScript generator stores it.
    for (size_t i = 0; i < n; ++i) {
        const uint32_t k = next_u32() >> 8;
        out[i] = (float)((((double)k + 0.5) * 0x1p-23 - 1.0) * a);
    }
}

std::vector<std::string> preset_names() { return {"tiny", "170m", "1b", "8b"}; }

LlamaShape preset_shape(const std::string &preset, WeightType *type) {
    LlamaShape s;
    auto set = [&](int64_t e, int64_t l, int64_t h, int64_t hkv, int64_t ff, int64_t ctx, WeightType t) {
        s.n_embd = e;
        s.n_layer = l;
        s.n_head = h;
        s.n_head_kv = hkv;
        s.n_ff = ff;
        s.n_ctx = ctx;
        if (type) *type = t;
    };
    // tiny and 170m are the presets of src/models/gguf/tiny.ts; 1b and 8b are Llama-3.2-1B- and
    // Llama-3.1-8B-shaped bodies (untied output) for GPU benchmarks.
    if (preset == "tiny") set(64, 2, 4, 4, 128, 2048, WeightType::F32);
    else if (preset == "170m") set(768, 12, 12, 12, 3072, 2048, WeightType::F16);
    else if (preset == "1b") set(2048, 16, 32, 8, 8192, 8192, WeightType::F16);
    else if (preset == "8b") set(4096, 32, 32, 8, 14336, 8192, WeightType::F16);
    else throw std::invalid_argument("unknown preset \"" + preset + "\" (tiny, 170m, 1b, 8b)");
    return s;
}

RandomLlamaResult write_random_llama(const RandomLlamaOptions &opts) {
    const auto started = std::chrono::steady_clock::now();
    if (!(opts.init_scale > 0) || !std::isfinite(opts.init_scale))
        throw std::invalid_argument(opts.out + ": init_scale must be a positive number");

    GgufPtr g(gguf_init_empty());
    gguf_set_val_str(g.get(), "general.architecture", "llama");
    const std::string name = "labor-llm tiny llama (" + opts.preset + ", " + opts.vocab_name + ", seed " +
                             std::to_string(opts.seed) + ")";
    gguf_set_val_str(g.get(), "general.name", name.c_str());
    gguf_set_val_u32(g.get(), "general.file_type", opts.type == WeightType::F32 ? 0 : 1);  // llama_ftype

    // The architecture keys come before the tokenizer's, as in the TypeScript writer; n_vocab is
    // only known after reading the vocabulary, so read it first into a scratch context.
    LlamaShape shape = opts.shape;
    {
        GgufPtr scratch(gguf_init_empty());
        shape.n_vocab = copy_tokenizer(scratch.get(), opts.vocab_file);
    }
    // The model families' RoPE bases: Llama-2 10,000, Llama-3 500,000.
    shape.rope_freq_base = opts.vocab_name == "llama-bpe" ? 500000.0f : 10000.0f;
    shape.rms_eps = 1e-5f;
    check_shape(shape, opts.out);

    gguf_set_val_u32(g.get(), "llama.vocab_size", (uint32_t)shape.n_vocab);
    gguf_set_val_u32(g.get(), "llama.context_length", (uint32_t)shape.n_ctx);
    gguf_set_val_u32(g.get(), "llama.embedding_length", (uint32_t)shape.n_embd);
    gguf_set_val_u32(g.get(), "llama.block_count", (uint32_t)shape.n_layer);
    gguf_set_val_u32(g.get(), "llama.feed_forward_length", (uint32_t)shape.n_ff);
    gguf_set_val_u32(g.get(), "llama.attention.head_count", (uint32_t)shape.n_head);
    gguf_set_val_u32(g.get(), "llama.attention.head_count_kv", (uint32_t)shape.n_head_kv);
    gguf_set_val_u32(g.get(), "llama.rope.dimension_count", (uint32_t)(shape.n_embd / shape.n_head));
    gguf_set_val_f32(g.get(), "llama.rope.freq_base", shape.rope_freq_base);
    gguf_set_val_f32(g.get(), "llama.attention.layer_norm_rms_epsilon", shape.rms_eps);
    copy_tokenizer(g.get(), opts.vocab_file);
    gguf_set_val_str(g.get(), "labor_llm.generator", ("tiny-llama v" + std::to_string(kRandomLlamaVersion)).c_str());
    gguf_set_val_str(g.get(), "labor_llm.vocab", opts.vocab_name.c_str());
    gguf_set_val_u32(g.get(), "labor_llm.seed", opts.seed);
    gguf_set_val_f32(g.get(), "labor_llm.init_scale", (float)opts.init_scale);

    // Tensor descriptions only (no_alloc): gguf needs ggml_tensor headers to lay out the file.
    const std::vector<TensorSpec> specs = tensor_specs(shape);
    ggml_init_params ip{};
    ip.mem_size = ggml_tensor_overhead() * (specs.size() + 1);
    ip.mem_buffer = nullptr;
    ip.no_alloc = true;
    std::unique_ptr<ggml_context, GgmlDeleter> meta(ggml_init(ip));
    RandomLlamaResult result;
    for (const TensorSpec &t : specs) {
        ggml_tensor *x = t.dims.size() == 1 ? ggml_new_tensor_1d(meta.get(), storage_type(t, opts.type), t.dims[0])
                                            : ggml_new_tensor_2d(meta.get(), storage_type(t, opts.type), t.dims[0], t.dims[1]);
        ggml_set_name(x, t.name.c_str());
        gguf_add_tensor(g.get(), x);
        result.parameters += (uint64_t)t.elements();
    }

    const std::string tmp = opts.out + ".tmp-" + std::to_string(getpid());
    FILE *f = std::fopen(tmp.c_str(), "wb");
    if (!f) throw std::runtime_error(opts.out + ": cannot create " + tmp + ": " + std::strerror(errno));
    auto fail = [&](const std::string &why) {
        std::fclose(f);
        std::remove(tmp.c_str());
        throw std::runtime_error(opts.out + ": " + why);
    };
    auto write = [&](const void *p, size_t n) {
        if (n > 0 && std::fwrite(p, 1, n, f) != n) fail(std::string("write failed: ") + std::strerror(errno));
        result.bytes += n;
    };
    std::vector<uint8_t> header(gguf_get_meta_size(g.get()));
    gguf_get_meta_data(g.get(), header.data());
    write(header.data(), header.size());

    // Tensors are generated ahead by up to `threads` workers and written in file order: memory
    // holds at most that many tensors, never the whole model.
    const size_t alignment = gguf_get_alignment(g.get());
    const std::vector<uint8_t> zeros(alignment, 0);
    const size_t window = (size_t)std::max(1, opts.threads);
    std::deque<std::future<std::vector<uint8_t>>> pending;
    size_t next = 0;
    for (size_t i = 0; i < specs.size(); ++i) {
        while (next < specs.size() && pending.size() < window) {
            const TensorSpec &t = specs[next];
            const ggml_type type = storage_type(t, opts.type);
            pending.push_back(std::async(window > 1 ? std::launch::async : std::launch::deferred,
                                         [&t, type, &opts] { return generate_tensor(t, type, opts.seed, opts.init_scale); }));
            ++next;
        }
        std::vector<uint8_t> bytes = pending.front().get();
        pending.pop_front();
        const uint64_t expected = header.size() + gguf_get_tensor_offset(g.get(), (int64_t)i);
        if (result.bytes != expected) fail("internal: tensor " + specs[i].name + " at the wrong offset");
        write(bytes.data(), bytes.size());
        write(zeros.data(), (alignment - bytes.size() % alignment) % alignment);
    }
    if (std::fflush(f) != 0 || fsync(fileno(f)) != 0) fail(std::string("flush failed: ") + std::strerror(errno));
    if (std::fclose(f) != 0) {
        std::remove(tmp.c_str());
        throw std::runtime_error(opts.out + ": close failed");
    }
    if (std::rename(tmp.c_str(), opts.out.c_str()) != 0) {
        std::remove(tmp.c_str());
        throw std::runtime_error(opts.out + ": cannot rename the finished file into place: " + std::strerror(errno));
    }
    result.shape = shape;
    result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    return result;
}

}  // namespace labor_bench
