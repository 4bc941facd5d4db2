// The CAREER occupation model (Vafa et al.; the LABOR-LLM paper's main baseline) as a ggml graph:
// a GPT-style causal transformer over a worker's sequence of occupation codes.
//
// Step t of a worker predicts the code of record t. Its input is the sum of the embeddings of
//   - the previous record's code (a start token, row n_codes of the code table, at t = 0), and
//   - the covariates of record t itself (year, education, region, ethnicity, gender: the predicted
//     record's year and education are known when its code is predicted, as in the paper's
//     P(y_t | x_i, x_{i,<=t}, y_{i,<t}) and in the other baselines),
// scaled by sqrt(width), plus a sinusoidal position. Then `layers` pre-norm blocks (layer norm,
// causal multi-head attention, residual; layer norm, GELU feed-forward, residual), a final layer
// norm and a linear head over the n_codes codes whose weights are the code embeddings (tied, as in
// GPT-2 and fairseq's --share-decoder-input-output-embed: keeping a job is then a dot product of the
// state with the embedding of the job it came from, which a small panel teaches quickly).
//
// Every op has a backward pass on the CPU: layer norm is rms_norm of the centred input (ggml_norm
// has no backward), GELU is its tanh form with the sigmoid written as exp(-softplus(-z)) (ggml_gelu
// has no backward), dropout multiplies by a mask drawn on the host.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "ggml-backend.h"
#include "ggml.h"
#include "ggml_handles.h"
#include "options.h"

namespace labor::career {

// GGUF architecture name.
inline constexpr const char *kArchitecture = "career";

struct Config {
    int32_t layers = 12;
    int32_t width = 192;
    int32_t heads = 3;
    int32_t ff = 768;
    int32_t n_codes = 0;  // output classes; the code table has n_codes + 1 rows (the start token)
    std::vector<std::string> covariate_names;
    std::vector<int32_t> covariate_sizes;  // rows of each covariate's table
    float norm_eps = 1e-5f;

    int32_t start_token() const { return n_codes; }
    // Elements of all the weights of a model of this shape.
    int64_t n_params() const;

    // The shape, as careerTrain's options name it (TrainOptions::fields includes these keys).
    template <class V, class O>
    static void fields(V &v, O &o) {
        v.integer("layers", o.layers, {1, 64});
        v.integer("width", o.width, {2, 4096});
        v.integer("heads", o.heads, {1, 4096});
        v.integer("ff", o.ff, {1, 65536});
        v.integer("nCodes", o.n_codes, {2, options::kInt32Max});
        v.value("covariateNames", o.covariate_names);
        v.value("covariateSizes", o.covariate_sizes);
    }
    // Throws EngineException(Input) naming the bad field.
    void validate() const;
};

struct Layer {
    ggml_tensor *attn_norm_w, *attn_norm_b;
    ggml_tensor *wq, *bq, *wk, *bk, *wv, *bv, *wo, *bo;
    ggml_tensor *ffn_norm_w, *ffn_norm_b;
    ggml_tensor *w_up, *b_up, *w_down, *b_down;
};

// The weights, in host memory (a CPU backend buffer), one named tensor each; `tensors` lists them
// in file order.
class Weights {
  public:
    explicit Weights(Config config);
    ~Weights();
    Weights(const Weights &) = delete;
    Weights &operator=(const Weights &) = delete;

    const Config &config() const { return config_; }
    const std::vector<ggml_tensor *> &tensors() const { return tensors_; }
    ggml_tensor *find(const std::string &name) const;
    int64_t n_params() const;

    // Normal(0, 0.02) matrices, Normal(0, width^-1/2) embeddings, zero biases, unit norm gains,
    // drawn from a seeded generator of our own (career_random.h).
    void init_random(uint64_t seed);
    // Marks every tensor as a parameter of the training graph.
    void set_trainable();

    std::vector<std::vector<float>> snapshot() const;
    void restore(const std::vector<std::vector<float>> &values);

    ggml_tensor *code_embd = nullptr;
    std::vector<ggml_tensor *> cov_embd;
    std::vector<Layer> layer;
    ggml_tensor *out_norm_w = nullptr, *out_norm_b = nullptr, *out_b = nullptr;  // output weights: code_embd

  private:
    ggml_tensor *add(const char *name, int64_t ne0, int64_t ne1 = 0);

    Config config_;
    ggml_context *ctx_ = nullptr;
    ggml_backend_buffer_t buf_ = nullptr;
    std::vector<ggml_tensor *> tensors_;
};

// The graph's input tensors (created by build_logits, filled by the caller once allocated).
struct GraphInputs {
    ggml_tensor *codes = nullptr;    // I32 [T*B]: previous code of every step, step t of sequence b at b*T + t
    ggml_tensor *covs = nullptr;     // I32 [T*B, F]: covariate f of every step in row f
    ggml_tensor *pos = nullptr;      // F32 [width, T]: sinusoidal positions
    ggml_tensor *rows = nullptr;     // I32 [n_out]: the steps whose logits are computed (real records)
    ggml_tensor *dropout = nullptr;  // F32 [width, T*B, 2*layers+1]: keep masks scaled by 1/(1-p), or null
};

// Builds the logits [n_codes, n_out] of a batch of B sequences padded to T steps. Padding sits at
// the end of a sequence, so the causal mask alone keeps real steps from seeing it.
ggml_tensor *build_logits(ggml_context *ctx, const Weights &w, int32_t T, int32_t B, int32_t n_out, bool dropout,
                          GraphInputs &in);

// Sinusoidal positions [width, T] (half sines, half cosines), as in the original transformer.
std::vector<float> positions(int32_t width, int32_t T);

}  // namespace labor::career
