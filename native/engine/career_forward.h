// Running CAREER graphs on the CPU backend: the forward pass of a batch (validation, scoring) and
// the pieces the trainer shares with it (graph sizes, filling the inputs).
#pragma once
#include <cstdint>
#include <memory>
#include <vector>

#include "career_data.h"
#include "career_model.h"
#include "ggml-alloc.h"
#include "ggml-backend.h"

namespace labor::career {

// Nodes a graph of `layers` blocks needs, backward and optimizer steps included.
size_t graph_size(int32_t layers);
// Metadata bytes of a context that holds such a graph (three copies: forward, gradient, optimizer).
size_t graph_meta_bytes(int32_t layers);

// A metadata-only context and its graph (with gradients or not) for a graph of `layers` blocks.
struct GraphContext {
    GgmlContextPtr ctx;
    ggml_cgraph *graph = nullptr;
};
GraphContext new_graph_context(int32_t layers, bool grads);

// Copies the batch into the graph's (allocated) inputs; `dropout` is null or [width, T*B, 2L+1].
void set_inputs(const GraphInputs &in, const HostBatch &b, int32_t width, const float *dropout);

// log-sum-exp of a row of logits, in double.
double logsumexp(const float *x, int32_t n);

class Runner {
  public:
    explicit Runner(int threads);
    ~Runner();
    Runner(const Runner &) = delete;
    Runner &operator=(const Runner &) = delete;

    ggml_backend_t backend() const { return backend_; }
    int threads() const { return threads_; }
    // The logits of the batch's real steps, row by row ([rows][n_codes]), without dropout.
    void logits(const Weights &w, const HostBatch &b, std::vector<float> &out);

  private:
    ggml_backend_t backend_ = nullptr;
    ggml_gallocr_t galloc_ = nullptr;
    int threads_ = 1;
};

}  // namespace labor::career
