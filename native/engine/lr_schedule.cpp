#include "lr_schedule.h"

#include <algorithm>
#include <cmath>

namespace labor {

namespace {
constexpr double kPi = 3.14159265358979323846;  // M_PI is POSIX, not standard C++
}  // namespace

double LrSchedule::at(int64_t s) const {
    if (warmup > 0 && s <= warmup) return init + (peak - init) * (double)s / (double)warmup;
    switch (decay) {
        case LrDecay::Constant:
            return peak;
        case LrDecay::InverseSqrt:
            return peak * std::sqrt((double)std::max<int64_t>(warmup, 1) / (double)s);
        case LrDecay::Linear:
        case LrDecay::Cosine: {
            const double span = (double)std::max<int64_t>(total - warmup, 1);
            const double t = std::min(std::max((double)(s - warmup - 1) / span, 0.0), 1.0);
            const double floor = peak * min_ratio;
            const double shape = decay == LrDecay::Linear ? 1.0 - t : 0.5 * (1.0 + std::cos(kPi * t));
            return floor + (peak - floor) * shape;
        }
    }
    return peak;
}

ggml_opt_optimizer_params ScheduledAdamW::params(void *self) {
    const ScheduledAdamW *s = static_cast<const ScheduledAdamW *>(self);
    ggml_opt_optimizer_params p = s->base;
    p.adamw.alpha = (float)s->next_rate();
    return p;
}

}  // namespace labor
