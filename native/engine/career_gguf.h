// CAREER models as GGUF files (general.architecture = "career"): the hyperparameters under
// career.*, the weights as named f32 tensors, and whatever the caller adds (vocabularies, the
// taxonomy's codes, training facts) as strings, string lists and numbers under keys of its choice.
#pragma once
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "career_model.h"

namespace labor::career {

struct Metadata {
    std::vector<std::pair<std::string, std::string>> strings;
    std::vector<std::pair<std::string, std::vector<std::string>>> lists;
    std::vector<std::pair<std::string, double>> numbers;
};

// Writes the file at `path` through a temporary file renamed into place: a failed or interrupted
// write leaves no file. Throws EngineException(Input) when the folder cannot take it.
void save(const Weights &w, const Metadata &meta, const std::string &path);

// Reads a file `save` wrote; every key and tensor is checked (EngineException(Model) naming the
// file and what is wrong) before anything is used. `meta` receives every key outside career.*'s
// hyperparameters and general.architecture.
std::unique_ptr<Weights> load(const std::string &path, Metadata *meta);

}  // namespace labor::career
