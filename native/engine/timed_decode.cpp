#include "timed_decode.h"

namespace labor::detail {

double ms_since(Clock::time_point t) { return std::chrono::duration<double, std::milli>(Clock::now() - t).count(); }

double decode_timed(Model &m, Batch &batch) {
    const auto t0 = Clock::now();
    m.decode(batch);
    return ms_since(t0);
}

void decode_counted(Model &m, Batch &batch, ScoreStats &st) {
    st.ms_decode += decode_timed(m, batch);
    st.decode_calls += 1;
    st.evaluated_tokens += batch.size();
}

void logsumexp_rows(Model &m, const std::vector<int32_t> &batch_indices, std::vector<double> &out, ScoreStats &st) {
    const auto t0 = Clock::now();
    m.logsumexp_rows(batch_indices, out);
    if (m.rows_from_head()) st.head_rows += (int64_t)batch_indices.size();
    st.ms_logsumexp += ms_since(t0);
}

}  // namespace labor::detail
