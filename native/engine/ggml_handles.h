// RAII handles of the ggml objects the engine owns (llama.cpp's own handles are in model.h), one
// definition each, so that every early return and exception frees them.
#pragma once
#include <memory>

#include "ggml-backend.h"
#include "ggml-opt.h"
#include "ggml.h"
#include "gguf.h"

namespace labor {

template <class T, void (*Free)(T *)>
struct FreeWith {
    void operator()(T *p) const { Free(p); }
};

using GgufPtr = std::unique_ptr<gguf_context, FreeWith<gguf_context, gguf_free>>;
using GgmlContextPtr = std::unique_ptr<ggml_context, FreeWith<ggml_context, ggml_free>>;
using BackendPtr = std::unique_ptr<ggml_backend, FreeWith<ggml_backend, ggml_backend_free>>;
using SchedPtr = std::unique_ptr<ggml_backend_sched, FreeWith<ggml_backend_sched, ggml_backend_sched_free>>;
using OptPtr = std::unique_ptr<ggml_opt_context, FreeWith<ggml_opt_context, ggml_opt_free>>;
using OptResultPtr = std::unique_ptr<ggml_opt_result, FreeWith<ggml_opt_result, ggml_opt_result_free>>;

}  // namespace labor
