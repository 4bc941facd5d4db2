// labor_llm_bench: the engine benchmark (`labor-llm bench`, src/bench/engine.ts) as a standalone
// executable over the engine core (native/engine), for machines without Node.js (a CUDA box), whose
// measurements follow src/bench/engine.ts. It writes a random
// llama model of a preset shape (or takes --model), scores every title of a taxonomy after a
// resume-like prompt in the reference, sequential and trie modes, and compares the trie's
// evaluated tokens per second with the same model's all-logits prompt-processing rate.
#include <sys/resource.h>
#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "errors.h"
#include "ggml-backend.h"
#include "llama.h"
#include "model.h"
#include "random_model.h"
#include "scorer.h"
#include "titles_csv.h"

#ifndef LABOR_LLM_SOURCE_DIR
#define LABOR_LLM_SOURCE_DIR "."
#endif

namespace {

using Clock = std::chrono::steady_clock;
using labor_bench::WeightType;

// The prompt of src/bench/engine.ts: a PSID-style resume ending where the next title goes.
const char *const kPrompt =
    "<A Resume from the PSID81 Dataset>\nThe following is the resume of a male worker of white ethnicity living in the "
    "South region, born in 1958.\n"
    "1979 to 1980 (high school diploma): Cooks\n1980 to 1981 (high school diploma): Cooks\n1981 to 1982 (high school "
    "diploma): Unemployed\n"
    "1982 to 1983 (some college): Retail salespersons and sales clerks\n1983 to 1984 (some college): Retail salespersons "
    "and sales clerks\n"
    "1984 to 1985 (some college):";

struct UsageError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

struct Args {
    std::string preset = "tiny";
    std::string vocab = "llama-spm";
    std::string model;  // an existing GGUF instead of a written one
    std::string out;    // where the written model goes
    std::string root = LABOR_LLM_SOURCE_DIR;
    std::string taxonomy;  // CSV with a title column
    std::string vocab_file;
    std::string json;
    int threads = 0;
    int gpu_layers = 0;
    int batch_size = 256;
    int context_size = 4096;
    int iterations = 5;
    int flash_attention = 0;  // -1 auto, 0 off, 1 on
    bool kv_f32 = true;
    int output_head = -1;     // -1 auto, 0 off, 1 on (ModelOptions::output_head)
    bool mmap = true;
    bool reference = true;
    bool bounded = false;
    int worker = 8;  // transitions of the worker timed with and without cross-transition batching (0: skip)
    bool check = false;
    double tolerance = 1e-4;
    bool write_only = false;
    bool rewrite = false;
    uint32_t seed = 1;
    int write_threads = 0;
    // Shape overrides of the preset.
    std::optional<int64_t> n_embd, n_layer, n_head, n_head_kv, n_ff, n_ctx;
    std::optional<WeightType> type;
};

const char *const kUsage = R"(usage: labor_llm_bench [options]

Writes a llama-architecture GGUF with seeded random weights (or loads --model), then scores every
title of a taxonomy after a resume-like prompt with the engine's modes and prints the same table as
`labor-llm bench`.

model
  --preset tiny|170m|1b|8b   shape of the written model (default tiny)
                               tiny 64/2/4/4/128 f32, 170m 768/12/12/12/3072 f16,
                               1b 2048/16/32/8/8192 f16, 8b 4096/32/32/8/14336 f16
                               (n_embd/n_layer/n_head/n_head_kv/n_ff)
  --vocab spm|bpe            Llama-2 (32k SentencePiece) or Llama-3 (128k BPE) vocabulary (default spm)
  --n-embd N --n-layer N --n-head N --n-head-kv N --n-ff N --n-ctx N --type f16|f32
                             override the preset's shape
  --seed N                   weight seed (default 1)
  --out PATH                 where to write the model (default .cache/bench-models/native/<name>.gguf;
                             reused when it exists)
  --rewrite                  write the model even if --out exists
  --write-only               write the model and exit
  --write-threads N          tensors generated in parallel (default: --threads)
  --model PATH               benchmark an existing GGUF instead of writing one
  --vocab-file PATH          vocabulary GGUF (default vendor/llama.cpp/models/ggml-vocab-llama-<vocab>.gguf)

engine
  --threads N                CPU threads (default: all hardware threads)
  --gpu-layers N             layers offloaded to the GPU of a CUDA/Metal build, -1 all (default 0)
  --batch-size N             tokens per llama_decode (default 256)
  --context-size N           KV cells (default 4096)
  --flash-attn on|off|auto   (default off: exact on CPU)
  --kv-cache f32|f16         KV cache precision (default f32, as the TypeScript Model)
  --output-head auto|on|off  the fused output head (default auto: llama f32/f16 output layers on CPU)
  --no-mmap                  read the model into memory instead of mapping it

benchmark
  --taxonomy PATH            CSV with a title column (default data/occ1990dd.csv)
  --iterations N             timed scorings per mode after a warm-up (default 5; 0 skips the timing)
  --no-reference             skip the per-title reference mode (slow on large models)
  --bounded                  also time the bounded mode (top 5, tolerance 1e-3)
  --worker N                 also time a worker's N successive transitions one by one and with
                             cross-transition batching 2, 4, 8 (default 8; 0 skips)
  --check                    score once with reference and trie (and sequential) and print the largest
                             difference in log-probability; exit 1 if it exceeds --tolerance
  --tolerance X              for --check, in nats (default 1e-4)
  --json PATH                also write the results as JSON
  --root PATH                repository root for the default paths (default: the source tree built from)
)";

int to_int(const std::string &flag, const std::string &v) {
    char *end = nullptr;
    errno = 0;
    const long x = std::strtol(v.c_str(), &end, 10);
    if (v.empty() || *end != '\0' || errno != 0 || x < INT32_MIN || x > INT32_MAX)
        throw UsageError(flag + ": expected an integer, got \"" + v + "\"");
    return (int)x;
}

// on / off / auto as the engine's settings take them: 1 / 0 / -1.
int to_on_off_auto(const std::string &flag, const std::string &v) {
    if (v == "on") return 1;
    if (v == "off") return 0;
    if (v == "auto") return -1;
    throw UsageError(flag + ": expected on, off or auto, got \"" + v + "\"");
}

int64_t to_positive(const std::string &flag, const std::string &v) {
    const int x = to_int(flag, v);
    if (x < 1) throw UsageError(flag + ": must be at least 1, got " + v);
    return x;
}

Args parse_args(int argc, char **argv) {
    Args a;
    bool threads_set = false;
    for (int i = 1; i < argc; ++i) {
        const std::string flag = argv[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= argc) throw UsageError(flag + " needs a value");
            return argv[++i];
        };
        if (flag == "--help" || flag == "-h") {
            std::fputs(kUsage, stdout);
            std::exit(0);
        } else if (flag == "--preset") {
            a.preset = value();
            labor_bench::preset_shape(a.preset, nullptr);  // validates
        } else if (flag == "--vocab") {
            const std::string v = value();
            if (v == "spm" || v == "llama-spm") a.vocab = "llama-spm";
            else if (v == "bpe" || v == "llama-bpe") a.vocab = "llama-bpe";
            else throw UsageError("--vocab: expected spm or bpe, got \"" + v + "\"");
        } else if (flag == "--model") a.model = value();
        else if (flag == "--out") a.out = value();
        else if (flag == "--root") a.root = value();
        else if (flag == "--taxonomy") a.taxonomy = value();
        else if (flag == "--vocab-file") a.vocab_file = value();
        else if (flag == "--json") a.json = value();
        else if (flag == "--threads") {
            a.threads = (int)to_positive(flag, value());
            threads_set = true;
        } else if (flag == "--write-threads") a.write_threads = (int)to_positive(flag, value());
        else if (flag == "--gpu-layers") a.gpu_layers = to_int(flag, value());
        else if (flag == "--batch-size") a.batch_size = (int)to_positive(flag, value());
        else if (flag == "--context-size") a.context_size = (int)to_positive(flag, value());
        else if (flag == "--iterations") {
            a.iterations = to_int(flag, value());
            if (a.iterations < 0) throw UsageError("--iterations: must be 0 or more");
        } else if (flag == "--flash-attn") a.flash_attention = to_on_off_auto(flag, value());
        else if (flag == "--output-head") a.output_head = to_on_off_auto(flag, value());
        else if (flag == "--kv-cache") {
            const std::string v = value();
            if (v != "f32" && v != "f16") throw UsageError("--kv-cache: expected f32 or f16, got \"" + v + "\"");
            a.kv_f32 = v == "f32";
        } else if (flag == "--no-mmap") a.mmap = false;
        else if (flag == "--no-reference") a.reference = false;
        else if (flag == "--bounded") a.bounded = true;
        else if (flag == "--worker") a.worker = std::stoi(value());
        else if (flag == "--check") a.check = true;
        else if (flag == "--tolerance") {
            const std::string v = value();
            char *end = nullptr;
            a.tolerance = std::strtod(v.c_str(), &end);
            if (v.empty() || *end != '\0' || !(a.tolerance >= 0)) throw UsageError("--tolerance: expected a number >= 0");
        } else if (flag == "--write-only") a.write_only = true;
        else if (flag == "--rewrite") a.rewrite = true;
        else if (flag == "--seed") {
            const std::string v = value();
            char *end = nullptr;
            const unsigned long long s = std::strtoull(v.c_str(), &end, 10);
            if (v.empty() || *end != '\0' || s > 0xffffffffULL) throw UsageError("--seed: expected an integer in [0, 4294967295]");
            a.seed = (uint32_t)s;
        } else if (flag == "--n-embd") a.n_embd = to_positive(flag, value());
        else if (flag == "--n-layer") a.n_layer = to_positive(flag, value());
        else if (flag == "--n-head") a.n_head = to_positive(flag, value());
        else if (flag == "--n-head-kv") a.n_head_kv = to_positive(flag, value());
        else if (flag == "--n-ff") a.n_ff = to_positive(flag, value());
        else if (flag == "--n-ctx") a.n_ctx = to_positive(flag, value());
        else if (flag == "--type") {
            const std::string v = value();
            if (v == "f32") a.type = WeightType::F32;
            else if (v == "f16") a.type = WeightType::F16;
            else throw UsageError("--type: expected f16 or f32, got \"" + v + "\"");
        } else throw UsageError("unknown option " + flag + " (see --help)");
    }
    if (!threads_set) a.threads = (int)std::max(1u, std::thread::hardware_concurrency());
    if (a.write_threads == 0) a.write_threads = a.threads;
    return a;
}

bool file_exists(const std::string &p) {
    struct stat st {};
    return stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

void make_dirs(const std::string &dir) {
    for (size_t i = 1; i <= dir.size(); ++i)
        if (i == dir.size() || dir[i] == '/') mkdir(dir.substr(0, i).c_str(), 0755);
}

std::string dirname_of(const std::string &p) {
    const size_t s = p.rfind('/');
    return s == std::string::npos ? "." : p.substr(0, s);
}

std::string stem_of(const std::string &p) {
    const size_t s = p.rfind('/');
    std::string base = s == std::string::npos ? p : p.substr(s + 1);
    const size_t dot = base.rfind('.');
    return dot == std::string::npos ? base : base.substr(0, dot);
}

double peak_rss_mib() {
    struct rusage ru {};
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_maxrss / 1024.0;  // Linux: KiB
}

// Writes the model unless --model was given or it exists already; returns the path to load.
std::string prepare_model(const Args &a, std::string *preset_label) {
    if (!a.model.empty()) {
        *preset_label = stem_of(a.model);
        return a.model;
    }
    WeightType type;
    labor_bench::LlamaShape shape = labor_bench::preset_shape(a.preset, &type);
    const bool custom = a.n_embd || a.n_layer || a.n_head || a.n_head_kv || a.n_ff || a.n_ctx || a.type;
    if (a.n_embd) shape.n_embd = *a.n_embd;
    if (a.n_layer) shape.n_layer = *a.n_layer;
    if (a.n_head) shape.n_head = *a.n_head;
    // Like the TypeScript generator: --n-head alone also sets the KV heads.
    if (a.n_head_kv) shape.n_head_kv = *a.n_head_kv;
    else if (a.n_head) shape.n_head_kv = *a.n_head;
    if (a.n_ff) shape.n_ff = *a.n_ff;
    if (a.n_ctx) shape.n_ctx = *a.n_ctx;
    if (a.type) type = *a.type;
    std::string label = a.preset;
    if (custom) {
        std::ostringstream s;
        s << "custom-e" << shape.n_embd << "-l" << shape.n_layer << "-h" << shape.n_head << "-kv" << shape.n_head_kv << "-ff"
          << shape.n_ff << "-c" << shape.n_ctx << (type == WeightType::F32 ? "-f32" : "-f16");
        label = s.str();
    }
    *preset_label = label;
    std::string out = a.out;
    if (out.empty()) {
        out = a.root + "/.cache/bench-models/native/" + label + "-" + a.vocab + (a.seed != 1 ? "-s" + std::to_string(a.seed) : "") +
              "-v" + std::to_string(labor_bench::kRandomLlamaVersion) + ".gguf";
    }
    if (file_exists(out) && !a.rewrite) {
        std::printf("model: reusing %s (--rewrite to write it again)\n", out.c_str());
        return out;
    }
    make_dirs(dirname_of(out));
    labor_bench::RandomLlamaOptions o;
    o.out = out;
    o.vocab_name = a.vocab;
    o.vocab_file = a.vocab_file.empty() ? a.root + "/vendor/llama.cpp/models/ggml-vocab-" + a.vocab + ".gguf" : a.vocab_file;
    o.preset = a.preset;  // general.name records the base preset, as the TypeScript generator does
    o.shape = shape;
    o.type = type;
    o.seed = a.seed;
    o.threads = a.write_threads;
    const auto r = labor_bench::write_random_llama(o);
    std::printf("model: wrote %s: %.1fM parameters, %.1f MiB, %.1f s\n", out.c_str(), (double)r.parameters / 1e6,
                (double)r.bytes / 1048576.0, r.seconds);
    return out;
}

// The machine's load when the run started: timings taken on a busy shared machine mean little.
std::string load_summary() {
    double load[3] = {0, 0, 0};
    const unsigned cpus = std::max(1u, std::thread::hardware_concurrency());
    std::ostringstream s;
    s << cpus << " hardware threads";
    if (getloadavg(load, 3) == 3) {
        char buf[96];
        std::snprintf(buf, sizeof buf, ", load average %.2f %.2f %.2f", load[0], load[1], load[2]);
        s << buf;
        if (load[0] > 0.5 * cpus && std::getenv("OMP_WAIT_POLICY") == nullptr)
            s << " (busy: OpenMP threads that spin-wait can slow small decodes many times over on an oversubscribed "
                 "machine; OMP_WAIT_POLICY=PASSIVE avoids it)";
    }
    const char *pol = std::getenv("OMP_WAIT_POLICY");
    if (pol) s << ", OMP_WAIT_POLICY=" << pol;
    return s.str();
}

std::string device_summary(const std::string &machine) {
    std::ostringstream s;
    s << "machine: " << machine << "\n";
    s << "system: " << llama_print_system_info() << "\n";
    s << "GPU offload supported: " << (llama_supports_gpu_offload() ? "yes" : "no") << "\n";
    for (size_t i = 0; i < ggml_backend_dev_count(); ++i) {
        ggml_backend_dev_t d = ggml_backend_dev_get(i);
        size_t free = 0, total = 0;
        ggml_backend_dev_memory(d, &free, &total);
        const auto t = ggml_backend_dev_type(d);
        s << "device " << i << ": " << ggml_backend_dev_name(d) << " (" << ggml_backend_dev_description(d) << ", "
          << (t == GGML_BACKEND_DEVICE_TYPE_CPU ? "CPU" : t == GGML_BACKEND_DEVICE_TYPE_GPU ? "GPU" : "other") << ")";
        if (total > 0) s << ", " << (total >> 20) << " MiB total, " << (free >> 20) << " MiB free";
        s << "\n";
    }
    return s.str();
}

struct Row {
    std::string mode;
    double ms_per_prompt = 0;  // mean
    double ms_min = 0;
    int64_t evaluated_tokens = 0;
    int64_t decode_calls = 0;
    int64_t evaluated_nodes = 0;
    int64_t internal_nodes = 0;
    bool bounded_fallback = false;  // the bounded search ran out of sequences and finished as the full trie
    double tokens_per_second = 0;
    double adjacent_all_logits_tps = 0;  // the yardstick measured right before and after this mode's runs (mean)
};

// One row of the table: a scoring mode, with or without the fused output head.
struct BenchMode {
    labor::ScoreMode mode;
    bool head;
    std::string name;
};

labor::TitleScores score(labor::Model &model, const labor::TitleSet &set, labor::ScoreMode mode, bool head = true) {
    labor::ScoreOptions o;
    o.mode = mode;
    o.output_head = head;
    // Every call pays for its prompt, as a fresh transition would (as src/bench/engine.ts does).
    o.reuse_prefix = false;
    return labor::score_titles(model, set, kPrompt, o);
}

// One timed run of a mode, added to its row.
void time_once(labor::Model &model, const labor::TitleSet &set, const BenchMode &m, Row &r) {
    const auto t0 = Clock::now();
    const labor::TitleScores s = score(model, set, m.mode, m.head);
    const double ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
    r.mode = m.name;
    r.ms_per_prompt += ms;  // a sum until the end of the rounds
    r.ms_min = r.ms_min == 0 ? ms : std::min(r.ms_min, ms);
    r.evaluated_tokens = s.stats.evaluated_tokens;
    r.decode_calls = s.stats.decode_calls;
    r.evaluated_nodes = s.stats.evaluated_nodes;
    r.internal_nodes = s.stats.internal_nodes;
    r.bounded_fallback = s.stats.bounded_fallback;
}

struct Check {
    bool ran = false;
    double trie_vs_reference = 0;        // max |logp| difference over the titles, nats
    double sequential_vs_reference = 0;
    double log_total_difference = 0;     // |log_total(trie) - log_total(reference)|
    bool passed = true;
};

double max_abs_diff(const std::vector<double> &a, const std::vector<double> &b) {
    double m = 0;
    for (size_t i = 0; i < a.size(); ++i) {
        const double d = std::fabs(a[i] - b[i]);
        if (!(d <= m)) m = d;  // NaN propagates as a failure
    }
    return m;
}

std::string json_escape(const std::string &s) {
    std::string o;
    for (unsigned char c : s) {
        if (c == '"' || c == '\\') o += '\\', o += (char)c;
        else if (c == '\n') o += "\\n";
        else if (c < 0x20) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\u%04x", c);
            o += buf;
        } else o += (char)c;
    }
    return o;
}

std::string num(double x, int digits = 10) {
    if (!std::isfinite(x)) return "null";
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.*g", digits, x);
    return buf;
}

int run(const Args &a) {
    const std::string machine = load_summary();  // before this process adds to the load
    std::string label;
    const std::string path = prepare_model(a, &label);
    if (a.write_only) return 0;

    labor::ModelOptions mo;
    mo.path = path;
    mo.threads = a.threads;
    mo.gpu_layers = a.gpu_layers;
    mo.batch_size = a.batch_size;
    mo.context_size = a.context_size;
    mo.flash_attention = a.flash_attention;
    mo.use_mmap = a.mmap;
    mo.kv_cache = a.kv_f32 ? labor::KvCache::F32 : labor::KvCache::F16;
    mo.output_head = a.output_head;
    const auto t_load = Clock::now();
    labor::Model model(mo);
    const double load_s = std::chrono::duration<double>(Clock::now() - t_load).count();
    const std::string device = device_summary(machine);
    std::fputs(device.c_str(), stdout);

    const std::string taxonomy_path = a.taxonomy.empty() ? a.root + "/data/occ1990dd.csv" : a.taxonomy;
    const std::string taxonomy = stem_of(taxonomy_path);
    labor::TitleSet set(model, labor_bench::read_titles_csv(taxonomy_path));
    const labor::TitleTrie &trie = set.trie();
    int64_t title_tokens = 0;
    for (const auto &t : set.tokens()) title_tokens += (int64_t)t.size();

    const double params = (double)llama_model_n_params(model.model());
    const double size_bytes = (double)llama_model_size(model.model());
    const std::string vocab_type = llama_vocab_type(model.vocab()) == LLAMA_VOCAB_TYPE_SPM ? "llama-spm"
                                   : llama_vocab_type(model.vocab()) == LLAMA_VOCAB_TYPE_BPE ? "llama-bpe"
                                                                                           : "other";
    std::printf("engine: %s, %d threads, gpu layers %d, batch %u, context %u, flash attention %s, KV cache %s; loaded in %.1f s\n\n",
                model.description().c_str(), model.threads(), a.gpu_layers, model.n_batch(), model.n_ctx(),
                a.flash_attention < 0 ? "auto" : a.flash_attention ? "on" : "off", a.kv_f32 ? "f32" : "f16", load_s);

    // Warm up: the first decode allocates llama.cpp's output buffers (and GPU graphs).
    const labor::TitleScores warm = score(model, set, labor::ScoreMode::Trie);
    const int64_t prompt_tokens = warm.stats.prompt_tokens;

    Check check;
    if (a.check) {
        check.ran = true;
        const labor::TitleScores ref = score(model, set, labor::ScoreMode::Reference);
        const labor::TitleScores tri = score(model, set, labor::ScoreMode::Trie);
        const labor::TitleScores seq = score(model, set, labor::ScoreMode::Sequential);
        check.trie_vs_reference = max_abs_diff(tri.logp, ref.logp);
        check.sequential_vs_reference = max_abs_diff(seq.logp, ref.logp);
        check.log_total_difference = std::fabs(tri.log_total - ref.log_total);
        check.passed = check.trie_vs_reference <= a.tolerance && check.sequential_vs_reference <= a.tolerance;
        std::printf("check: max |trie - reference| = %.3g nats, max |sequential - reference| = %.3g nats over %zu titles; "
                    "|log total difference| = %.3g; tolerance %.3g: %s\n\n",
                    check.trie_vs_reference, check.sequential_vs_reference, set.size(), check.log_total_difference,
                    a.tolerance, check.passed ? "PASS" : "FAIL");
    }

    std::vector<Row> rows;
    double all_logits_tps = NAN, head_tps = NAN;
    if (a.iterations > 0) {
        std::vector<BenchMode> modes;
        if (a.reference) modes.push_back({labor::ScoreMode::Reference, true, "reference"});
        modes.push_back({labor::ScoreMode::Sequential, true, "sequential"});
        modes.push_back({labor::ScoreMode::Trie, true, "trie"});
        if (model.head()) modes.push_back({labor::ScoreMode::Trie, false, "trie, llama.cpp logits"});
        if (a.bounded) modes.push_back({labor::ScoreMode::Bounded, true, "bounded"});
        rows.assign(modes.size(), Row{});

        // The yardstick: batched decode of 512 random tokens with logits for every token plus the
        // engine's full-vocabulary log-sum-exp per token (3 runs a sample), and once more through the
        // fused head where the model has one. Rounds: the yardstick, then each mode followed by the
        // yardstick; a mode's efficiency is against the samples on either side of it, since a shared
        // host's speed drifts within a minute.
        const int32_t n = (int32_t)std::min<uint32_t>(512, model.n_ctx());
        labor::measure_throughput(model, n, true, true);
        int64_t tokens = 0, head_tokens = 0;
        double ms = 0, head_ms = 0;
        auto yardstick = [&]() {
            int64_t t = 0;
            double m = 0;
            for (int i = 0; i < 3; ++i) {
                const labor::Throughput tp = labor::measure_throughput(model, n, true, true);
                t += tp.tokens;
                m += tp.ms_decode + tp.ms_logsumexp;
            }
            tokens += t;
            ms += m;
            if (model.head()) {
                const labor::Throughput tp = labor::measure_throughput(model, n, true, true, true);
                head_tokens += tp.tokens;
                head_ms += tp.ms_decode + tp.ms_logsumexp;
            }
            return (double)t / m * 1000.0;
        };
        for (int it = 0; it < a.iterations; ++it) {
            double before = yardstick();
            for (size_t k = 0; k < modes.size(); ++k) {
                time_once(model, set, modes[k], rows[k]);
                const double after = yardstick();
                rows[k].adjacent_all_logits_tps += before + after;
                before = after;
            }
        }
        for (Row &r : rows) {
            r.ms_per_prompt /= a.iterations;
            r.adjacent_all_logits_tps /= 2.0 * a.iterations;
            r.tokens_per_second = (double)r.evaluated_tokens / r.ms_per_prompt * 1000.0;
        }
        all_logits_tps = (double)tokens / ms * 1000.0;
        if (model.head()) head_tps = (double)head_tokens / head_ms * 1000.0;
    }

    auto by = [&](const std::string &m) -> const Row * {
        for (const Row &r : rows)
            if (r.mode == m) return &r;
        return nullptr;
    };
    const Row *trie_row = by("trie");
    const Row *seq_row = by("sequential");
    const Row *ref_row = by("reference");
    const Row *bnd_row = by("bounded");
    const Row *plain_row = by("trie, llama.cpp logits");
    const double efficiency = trie_row ? trie_row->tokens_per_second / trie_row->adjacent_all_logits_tps : NAN;
    const double head_efficiency = trie_row ? trie_row->tokens_per_second / head_tps : NAN;
    const double over_seq = trie_row && seq_row ? seq_row->ms_per_prompt / trie_row->ms_per_prompt : NAN;
    const double over_ref = trie_row && ref_row ? ref_row->ms_per_prompt / trie_row->ms_per_prompt : NAN;

    std::printf("model: %s (%.1fM params), %s vocabulary; %zu %s titles: %lld title tokens, trie %zu nodes, %d internal; "
                "prompt %lld tokens\n",
                label.c_str(), params / 1e6, vocab_type.c_str(), set.size(), taxonomy.c_str(), (long long)title_tokens,
                trie.nodes().size() - 1, trie.internal_count(), (long long)prompt_tokens);
    if (!rows.empty()) {
        std::printf("\n| mode | ms per prompt | evaluated tokens | decode calls | evaluated tokens/s | all-logits tokens/s beside it | efficiency |\n");
        std::printf("| --- | ---: | ---: | ---: | ---: | ---: | ---: |\n");
        for (const Row &r : rows)
            std::printf("| %s | %.1f | %lld | %lld | %.0f | %.0f | %.2f |\n", r.mode.c_str(), r.ms_per_prompt, (long long)r.evaluated_tokens,
                        (long long)r.decode_calls, r.tokens_per_second, r.adjacent_all_logits_tps,
                        r.tokens_per_second / r.adjacent_all_logits_tps);
        std::printf("\nall-logits prompt processing (decode + log-sum-exp): %.0f tokens/s over the run; trie efficiency %.2f "
                    "(against the rate measured beside it)\n",
                    all_logits_tps, efficiency);
        std::printf("fused output head: %s", model.head_status().c_str());
        if (model.head() && plain_row)
            std::printf("; trie %.2fx over itself with llama.cpp's logits; all-logits rate through the head %.0f tokens/s, trie "
                        "efficiency %.2f against it",
                        plain_row->ms_per_prompt / trie_row->ms_per_prompt, head_tps, head_efficiency);
        std::printf("\n");
        std::printf("trie speed-up: %.2fx over sequential", over_seq);
        if (ref_row) std::printf(", %.1fx over the per-title reference", over_ref);
        std::printf("\n");
        if (bnd_row)
            std::printf("bounded: %lld of %lld internal nodes evaluated (%.1f%%)%s, %.2fx faster than the trie\n",
                        (long long)bnd_row->evaluated_nodes, (long long)bnd_row->internal_nodes,
                        100.0 * (double)bnd_row->evaluated_nodes / (double)std::max<int64_t>(1, bnd_row->internal_nodes),
                        bnd_row->bounded_fallback ? " (the search fell back to the full trie)" : "",
                        trie_row->ms_per_prompt / bnd_row->ms_per_prompt);
    }
    // A worker's successive transitions (each prompt extends the previous one by a line), scored one
    // by one with the prompt cells kept, then G at a time in shared decodes (cross-transition
    // batching); the scores are checked equal.
    if (a.iterations > 0 && a.worker > 1) {
        std::vector<std::string> prompts{kPrompt};
        for (int k = 1; k < a.worker; ++k)
            prompts.push_back(prompts.back() + " Cooks\n" + std::to_string(1985 + k) + " to " + std::to_string(1986 + k) + " (some college):");
        auto time_worker = [&](int32_t G, std::vector<labor::TitleScores> &out) {
            labor::ScoreOptions o;
            o.reuse_prefix = false;  // the worker's first prompt in full, as for a new worker
            o.cross_batch = G;
            double best = INFINITY;
            for (int it = 0; it < a.iterations; ++it) {
                const auto t0 = Clock::now();
                if (G == 1) {
                    out.clear();
                    for (size_t k = 0; k < prompts.size(); ++k) {
                        o.reuse_prefix = k > 0;
                        out.push_back(labor::score_titles(model, set, prompts[k], o));
                    }
                } else {
                    out = labor::score_titles_group(model, set, prompts, o);
                }
                best = std::min(best, std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
            }
            return best / (double)prompts.size();
        };
        std::vector<labor::TitleScores> one, grouped;
        const double ms_one = time_worker(1, one);
        std::printf("\nworker of %zu transitions, per transition (best of %d): one by one with the prompt cells kept %.1f ms\n",
                    prompts.size(), a.iterations, ms_one);
        for (int32_t G : {2, 4, 8}) {
            const double ms = time_worker(G, grouped);
            double diff = 0;
            int64_t decodes = 0;
            for (size_t k = 0; k < prompts.size(); ++k) {
                diff = std::max(diff, max_abs_diff(grouped[k].logp, one[k].logp));
                decodes += grouped[k].stats.decode_calls;
            }
            std::printf("  cross-batch %d: %.1f ms (%.2fx), %.1f decodes per transition, max |difference| %.2g nats\n", G, ms, ms_one / ms,
                        (double)decodes / (double)prompts.size(), diff);
        }
    }

    const double rss = peak_rss_mib();
    std::printf("peak resident memory: %.0f MiB (model %.0f MiB)\n", rss, size_bytes / 1048576.0);

    if (!a.json.empty()) {
        std::ostringstream j;
        j << "{\n  \"model\": {\"path\": \"" << json_escape(path) << "\", \"preset\": \"" << json_escape(label) << "\", \"vocab\": \""
          << vocab_type << "\", \"description\": \"" << json_escape(model.description()) << "\", \"params\": " << num(params)
          << ", \"sizeBytes\": " << num(size_bytes) << "},\n";
        j << "  \"engine\": {\"threads\": " << model.threads() << ", \"gpuLayers\": " << a.gpu_layers << ", \"batchSize\": " << model.n_batch()
          << ", \"contextSize\": " << model.n_ctx() << ", \"flashAttention\": \""
          << (a.flash_attention < 0 ? "auto" : a.flash_attention ? "on" : "off") << "\", \"kvCache\": \"" << (a.kv_f32 ? "f32" : "f16")
          << "\", \"gpuOffloadSupported\": " << (llama_supports_gpu_offload() ? "true" : "false") << "},\n";
        j << "  \"device\": \"" << json_escape(device) << "\",\n";
        j << "  \"taxonomy\": \"" << json_escape(taxonomy) << "\", \"titles\": " << set.size() << ",\n";
        j << "  \"trie\": {\"nodes\": " << trie.nodes().size() - 1 << ", \"internalNodes\": " << trie.internal_count()
          << ", \"titleTokens\": " << title_tokens << ", \"maxDepth\": " << trie.max_depth() << "},\n";
        j << "  \"promptTokens\": " << prompt_tokens << ", \"iterations\": " << a.iterations << ",\n  \"rows\": [";
        for (size_t i = 0; i < rows.size(); ++i) {
            const Row &r = rows[i];
            j << (i ? "," : "") << "\n    {\"mode\": \"" << r.mode << "\", \"msPerPrompt\": " << num(r.ms_per_prompt)
              << ", \"msMin\": " << num(r.ms_min) << ", \"evaluatedTokens\": " << r.evaluated_tokens << ", \"decodeCalls\": "
              << r.decode_calls << ", \"evaluatedNodes\": " << r.evaluated_nodes
              << ", \"boundedFallback\": " << (r.bounded_fallback ? "true" : "false") << ", \"tokensPerSecond\": " << num(r.tokens_per_second)
              << ", \"adjacentAllLogitsTokensPerSecond\": " << num(r.adjacent_all_logits_tps) << "}";
        }
        j << "\n  ],\n  \"allLogitsTokensPerSecond\": " << num(all_logits_tps) << ", \"efficiency\": " << num(efficiency) << ",\n";
        j << "  \"head\": {\"status\": \"" << json_escape(model.head_status()) << "\", \"allLogitsTokensPerSecond\": " << num(head_tps)
          << ", \"efficiency\": " << num(head_efficiency) << "},\n";
        j << "  \"speedup\": {\"overSequential\": " << num(over_seq) << ", \"overReference\": " << num(over_ref) << "},\n";
        j << "  \"check\": ";
        if (check.ran)
            j << "{\"trieVsReference\": " << num(check.trie_vs_reference) << ", \"sequentialVsReference\": "
              << num(check.sequential_vs_reference) << ", \"logTotalDifference\": " << num(check.log_total_difference)
              << ", \"tolerance\": " << num(a.tolerance) << ", \"passed\": " << (check.passed ? "true" : "false") << "},\n";
        else
            j << "null,\n";
        // The trie's scores of the warm-up call: lets two builds or machines be compared title by title.
        j << "  \"trieLogProbs\": [";
        for (size_t i = 0; i < warm.logp.size(); ++i) j << (i ? ", " : "") << num(warm.logp[i], 17);
        j << "], \"trieLogTotal\": " << num(warm.log_total, 17) << ",\n";
        j << "  \"peakRssMiB\": " << num(rss) << ", \"loadSeconds\": " << num(load_s) << "\n}\n";
        std::ofstream f(a.json);
        f << j.str();
        if (!f) throw std::runtime_error(a.json + ": cannot write the JSON results");
        std::printf("written %s\n", a.json.c_str());
    }
    return check.passed ? 0 : 1;
}

}  // namespace

int main(int argc, char **argv) {
    // Line-buffered even into a pipe: a run cut off by a time limit keeps what it printed.
    std::setvbuf(stdout, nullptr, _IOLBF, 0);
    try {
        return run(parse_args(argc, argv));
    } catch (const UsageError &e) {
        std::fprintf(stderr, "labor_llm_bench: %s\n", e.what());
        return 64;
    } catch (const std::invalid_argument &e) {
        std::fprintf(stderr, "labor_llm_bench: %s\n", e.what());
        return 64;
    } catch (const labor::EngineException &e) {
        std::fprintf(stderr, "labor_llm_bench: %s error: %s\n", labor::error_kind_name(e.kind()), e.what());
        return 2;
    } catch (const std::exception &e) {
        std::fprintf(stderr, "labor_llm_bench: %s\n", e.what());
        return 2;
    }
}
