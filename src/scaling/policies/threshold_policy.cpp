#include "scaling/policies/threshold_policy.h"

#include <fmt/format.h>

namespace tidal::scaling {

Recommendation ThresholdPolicy::recommend(const Signals& s) {
  const int current = s.current();
  if (s.now_s - last_change_s_ < c_.cooldown_s) return {current, "cooldown"};
  const bool queue_high = s.queue_depth > c_.queue_high;
  const bool overloaded = queue_high || (c_.ttft_high_ms > 0 && s.ttft_p95_ms > c_.ttft_high_ms);
  if (overloaded && s.starting == 0) {
    last_change_s_ = s.now_s;
    return {current + 1, queue_high ? fmt::format("queue {:.0f} over {:.0f}", s.queue_depth, c_.queue_high)
                                    : fmt::format("ttft p95 {:.0f} ms over {:.0f}", s.ttft_p95_ms, c_.ttft_high_ms)};
  }
  if (!overloaded && s.queue_depth == 0 && s.utilization < c_.utilization_low && current > 1) {
    if (!s.load_fresh) return {current, "load window incomplete: no scale-down", true};
    last_change_s_ = s.now_s;
    return {current - 1, fmt::format("utilization {:.2f} under {:.2f}", s.utilization, c_.utilization_low)};
  }
  return {current, "within thresholds"};
}

}  // namespace tidal::scaling
