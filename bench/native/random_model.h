// Llama-architecture GGUF files with seeded random weights, for benchmarks on machines without
// Node.js. The generator mirrors src/models/gguf/tiny.ts (same PRNG, initialization, metadata, tensor order
// and layout), so for the shared presets it writes the same bytes as `writeTinyLlama`.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace labor_bench {

// Bumped together with TINY_LLAMA_VERSION in src/models/gguf/tiny.ts.
constexpr int kRandomLlamaVersion = 1;

struct LlamaShape {
    int64_t n_vocab = 0;  // filled from the vocabulary file
    int64_t n_embd = 0;
    int64_t n_layer = 0;
    int64_t n_head = 0;
    int64_t n_head_kv = 0;
    int64_t n_ff = 0;
    int64_t n_ctx = 0;  // training context (llama.context_length)
    float rms_eps = 1e-5f;
    float rope_freq_base = 10000.0f;
};

enum class WeightType { F32, F16 };

struct RandomLlamaOptions {
    std::string out;
    std::string vocab_name;  // "llama-spm" or "llama-bpe": recorded in the metadata, picks the RoPE base
    std::string vocab_file;  // vocabulary-only GGUF whose tokenizer.* keys are copied
    std::string preset;      // recorded in general.name (the base preset, also with shape overrides)
    LlamaShape shape;        // n_vocab is ignored (taken from the vocabulary)
    WeightType type = WeightType::F32;
    uint32_t seed = 1;
    double init_scale = 1.0;
    int threads = 1;  // tensors generated in parallel (each from its own PRNG stream)
};

struct RandomLlamaResult {
    LlamaShape shape;
    uint64_t bytes = 0;
    uint64_t parameters = 0;
    double seconds = 0;
};

// A preset's shape and weight type ("tiny", "170m", "1b", "8b"); n_vocab and the RoPE base are
// set from the vocabulary when writing. Throws std::invalid_argument for an unknown name.
LlamaShape preset_shape(const std::string &preset, WeightType *type);
std::vector<std::string> preset_names();

// Writes the model atomically (temporary sibling, then rename), one tensor at a time: a 16 GB
// model is never held in memory. Throws std::runtime_error naming the file on failure.
RandomLlamaResult write_random_llama(const RandomLlamaOptions &opts);

// Exposed for the self-check in bench.cpp: the generator's PRNG must match src/models/gguf/prng.ts.
uint32_t hash_name(const std::string &name);
class Xoshiro128 {
  public:
    Xoshiro128(uint32_t seed, uint32_t stream);
    uint32_t next_u32();
    // Values uniform on (-a, a), a = std * sqrt(3), rounded to float as a Float32Array stores them.
    void fill_uniform(float *out, size_t n, double std_dev);

  private:
    uint32_t s0_, s1_, s2_, s3_;
};

}  // namespace labor_bench
