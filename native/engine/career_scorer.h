// Scoring with a saved CAREER model: every record of every worker, the first included (its input
// is the start token), as log-probabilities over all the taxonomy's codes. A worker's records come
// out of one forward pass (the causal mask makes that equal to scoring its prefixes one by one);
// workers are batched by length.
#pragma once
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "career_data.h"
#include "career_forward.h"
#include "career_gguf.h"
#include "career_model.h"

namespace labor::career {

class Scorer {
  public:
    Scorer(const std::string &path, int threads);
    const Config &config() const { return weights_->config(); }
    const Metadata &metadata() const { return meta_; }
    int64_t n_params() const { return weights_->n_params(); }
    int threads() const { return runner_.threads(); }
    // out: [records][n_codes] log-probabilities, records in the order of `ds`. Thread-safe
    // (one scoring at a time).
    void log_probs(const Dataset &ds, int32_t batch, std::vector<float> &out, const std::function<bool()> &stop);

  private:
    Metadata meta_;  // before weights_: load() fills it while weights_ is initialised
    std::unique_ptr<Weights> weights_;
    Runner runner_;
    std::mutex mu_;
};

}  // namespace labor::career
