// Opening a GGUF file with ggml's reader, after the checks that give each way of failing a precise
// message naming the file: it exists, it is a regular file, it opens, it starts with the magic bytes
// "GGUF", and ggml can read it (not truncated or corrupt). Every engine reader of GGUF files goes
// through it: the scoring model (model.cpp), LoRA adapters, the local trainer (trainer.cpp,
// lm_train_graph.cpp) and CAREER models (career_gguf.cpp).
#pragma once
#include <memory>
#include <string>

#include "errors.h"
#include "ggml_handles.h"

namespace labor {

// `what` names the file in messages ("model", "CAREER model"); failures throw `kind`. Reads the
// header only (metadata and tensor list), or with `data` the tensors too, into a new ggml context
// that *data then owns (the caller frees it).
GgufPtr open_gguf(const std::string &path, const std::string &what, ErrorKind kind, ggml_context **data = nullptr);

// A string-valued key, or "" where it is missing or not a string.
std::string gguf_string(const gguf_context *g, const char *key);

}  // namespace labor
