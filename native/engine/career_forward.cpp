#include "career_forward.h"

#include <algorithm>
#include <cmath>
#include <memory>
#include <thread>

#include "errors.h"
#include "ggml-cpu.h"

namespace labor::career {

size_t graph_size(int32_t layers) { return 2048 + 1024 * (size_t)layers; }

size_t graph_meta_bytes(int32_t layers) {
    const size_t n = graph_size(layers);
    return 3 * n * ggml_tensor_overhead() + 3 * ggml_graph_overhead_custom(n, true) + (1 << 16);
}

void set_inputs(const GraphInputs &in, const HostBatch &b, int32_t width, const float *dropout) {
    ggml_backend_tensor_set(in.codes, b.codes.data(), 0, ggml_nbytes(in.codes));
    ggml_backend_tensor_set(in.covs, b.covs.data(), 0, ggml_nbytes(in.covs));
    const std::vector<float> pos = positions(width, b.T);
    ggml_backend_tensor_set(in.pos, pos.data(), 0, ggml_nbytes(in.pos));
    ggml_backend_tensor_set(in.rows, b.rows.data(), 0, ggml_nbytes(in.rows));
    if (in.dropout) ggml_backend_tensor_set(in.dropout, dropout, 0, ggml_nbytes(in.dropout));
}

double logsumexp(const float *x, int32_t n) {
    float m = x[0];
    for (int32_t i = 1; i < n; ++i) m = std::max(m, x[i]);
    double s = 0;
    for (int32_t i = 0; i < n; ++i) s += std::exp((double)x[i] - m);
    return m + std::log(s);
}

Runner::Runner(int threads) {
    threads_ = threads > 0 ? threads : (int)std::max(1u, std::thread::hardware_concurrency());
    backend_ = ggml_backend_cpu_init();
    if (!backend_) fail(ErrorKind::Engine, "could not start the ggml CPU backend");
    ggml_backend_cpu_set_n_threads(backend_, threads_);
    galloc_ = ggml_gallocr_new(ggml_backend_cpu_buffer_type());
    if (!galloc_) {
        ggml_backend_free(backend_);
        fail(ErrorKind::Engine, "could not create the ggml graph allocator");
    }
}

Runner::~Runner() {
    ggml_gallocr_free(galloc_);
    ggml_backend_free(backend_);
}

GraphContext new_graph_context(int32_t layers, bool grads) {
    ggml_init_params p{};
    p.mem_size = graph_meta_bytes(layers);
    p.no_alloc = true;
    GraphContext g{GgmlContextPtr(ggml_init(p)), nullptr};
    if (!g.ctx) fail(ErrorKind::Engine, "out of memory for a CAREER graph");
    g.graph = ggml_new_graph_custom(g.ctx.get(), graph_size(layers), grads);
    return g;
}

void Runner::logits(const Weights &w, const HostBatch &b, std::vector<float> &out) {
    const Config &c = w.config();
    GraphContext g = new_graph_context(c.layers, false);
    ggml_cgraph *gf = g.graph;
    GraphInputs in;
    ggml_tensor *logits = build_logits(g.ctx.get(), w, b.T, b.B, (int32_t)b.rows.size(), false, in);
    ggml_set_output(logits);
    ggml_build_forward_expand(gf, logits);
    if (!ggml_gallocr_alloc_graph(galloc_, gf)) fail(ErrorKind::Engine, "out of memory for a CAREER forward pass");
    set_inputs(in, b, c.width, nullptr);
    if (ggml_backend_graph_compute(backend_, gf) != GGML_STATUS_SUCCESS)
        fail(ErrorKind::Engine, "the CAREER forward pass failed");
    out.resize((size_t)ggml_nelements(logits));
    ggml_backend_tensor_get(logits, out.data(), 0, ggml_nbytes(logits));
}

}  // namespace labor::career
