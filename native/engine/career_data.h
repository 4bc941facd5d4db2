// CAREER's data: workers as sequences of records (a code and F covariate ids per record), and the
// padded batches the graph takes. Panels, taxonomies and vocabularies stay on the TypeScript side:
// here a record is only integers.
#pragma once
#include <cstdint>
#include <vector>

#include "career_model.h"
#include "career_random.h"

namespace labor::career {

struct Dataset {
    int32_t n_covariates = 0;
    std::vector<int32_t> codes;     // every record's code index, sequences concatenated
    std::vector<int32_t> covs;      // every record's covariate ids, n_covariates per record
    std::vector<int64_t> offsets;   // sequence i holds records offsets[i] .. offsets[i + 1]

    size_t size() const { return offsets.empty() ? 0 : offsets.size() - 1; }
    int32_t length(size_t i) const { return (int32_t)(offsets[i + 1] - offsets[i]); }
    int64_t records() const { return offsets.empty() ? 0 : offsets.back(); }
    // Throws EngineException(Input) naming `what`, the sequence and the field out of range.
    void check(const Config &c, const char *what) const;
};

// A batch of B sequences padded to T steps, in the layout of GraphInputs.
struct HostBatch {
    int32_t T = 0, B = 0;
    std::vector<int32_t> codes;    // [B*T] previous code (the start token at t = 0; padding repeats it)
    std::vector<int32_t> covs;     // [F][B*T]
    std::vector<int32_t> rows;     // real steps b*T + t, sequence by sequence
    std::vector<int32_t> targets;  // the code of each real step
};

HostBatch make_batch(const Dataset &ds, const std::vector<int64_t> &seqs, int32_t start_token);

// Batches of at most `batch` sequences. Training: sequences shuffled, then sorted by length within
// windows of 50 batches (less padding), then the batches shuffled. Evaluation (rng == nullptr):
// sequences by length, ties in order.
std::vector<std::vector<int64_t>> plan_batches(const Dataset &ds, int32_t batch, Random *rng);

}  // namespace labor::career
