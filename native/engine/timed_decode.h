// The scorer's two timed steps, each counted in ScoreStats in one place: a llama_decode
// (ms_decode, decode_calls, evaluated_tokens) and the full-vocabulary log-sum-exp of the decode's
// output rows (ms_logsumexp, head_rows).
#pragma once
#include <chrono>
#include <vector>

#include "model.h"
#include "scorer.h"

namespace labor::detail {

using Clock = std::chrono::steady_clock;
double ms_since(Clock::time_point t);

// One decode; returns its milliseconds (for callers that split them between prompts).
double decode_timed(Model &m, Batch &batch);
// One decode, counted in `st`: its milliseconds, one call, the batch's tokens.
void decode_counted(Model &m, Batch &batch, ScoreStats &st);

// log-sum-exp of several output rows of the last decode at once, spread over the model's threads.
void logsumexp_rows(Model &m, const std::vector<int32_t> &batch_indices, std::vector<double> &out, ScoreStats &st);

inline llama_memory_t memory_of(Model &m) { return llama_get_memory(m.ctx()); }

}  // namespace labor::detail
