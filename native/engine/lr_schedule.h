// Learning-rate schedules of the native trainers (CAREER's and local fine-tuning's), and the ggml-opt
// hook that feeds one to AdamW step by step.
//
// Steps are counted from 1. Warm-up: for s <= warmup, the rate rises linearly from init (excluded)
// to peak: init + (peak - init) * s / warmup. After it:
//   Constant     peak
//   InverseSqrt  peak * sqrt(max(warmup, 1) / s)                       (fairseq's, CAREER's)
//   Linear       floor + (peak - floor) * (1 - t)
//   Cosine       floor + (peak - floor) * (1 + cos(pi t)) / 2
// with floor = peak * min_ratio and t = (s - warmup - 1) / (total - warmup), the share of the decay
// steps already taken: step warmup + 1 runs at the peak and the last step (s = total) still above the
// floor, so the rate stays > 0 (ggml-opt asserts it) even with min_ratio 0.
#pragma once
#include <cstdint>

#include "ggml-opt.h"

namespace labor {

enum class LrDecay : int32_t { Constant = 0, Linear = 1, Cosine = 2, InverseSqrt = 3 };

struct LrSchedule {
    double peak = 1e-3;
    LrDecay decay = LrDecay::Constant;
    int64_t warmup = 0;      // warm-up steps
    double init = 0;         // the warm-up's starting rate (step 0)
    double min_ratio = 0;    // Linear / Cosine: the floor as a share of the peak
    int64_t total = 0;       // Linear / Cosine: steps of the whole run

    double at(int64_t step) const;  // the rate of `step` (1-based)
};

// AdamW's parameters with the schedule's rate for the next step: pass `params` as ggml_opt_params'
// get_opt_pars and the object as get_opt_pars_ud, and call advance() after every optimizer step.
struct ScheduledAdamW {
    LrSchedule schedule;
    ggml_opt_optimizer_params base{};  // betas, eps, weight decay (alpha is the schedule's)
    int64_t steps = 0;                 // optimizer steps taken

    double next_rate() const { return schedule.at(steps + 1); }
    void advance() { ++steps; }
    static ggml_opt_optimizer_params params(void *self);
};

}  // namespace labor
