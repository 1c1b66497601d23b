#include "scaling/policies/threshold_policy.h"

namespace tidal::scaling {

Recommendation ThresholdPolicy::recommend(const Signals& s) {
  const int current = s.ready + s.starting;
  if (s.now_s - last_change_s_ < c_.cooldown_s) return {current, "cooldown"};
  const bool overloaded = s.queue_depth > c_.queue_high || (c_.ttft_high_ms > 0 && s.ttft_p95_ms > c_.ttft_high_ms);
  if (overloaded && s.starting == 0) {
    last_change_s_ = s.now_s;
    return {current + 1, s.queue_depth > c_.queue_high ? "queue over threshold" : "ttft over threshold"};
  }
  if (!overloaded && s.queue_depth == 0 && s.utilization < c_.utilization_low && current > 1) {
    last_change_s_ = s.now_s;
    return {current - 1, "utilization under threshold"};
  }
  return {current, "within thresholds"};
}

}  // namespace tidal::scaling
