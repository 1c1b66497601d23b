// The simple threshold autoscaler, the baseline the smarter policies must beat: one
// replica up when the gateway queue or the p95 TTFT is over its threshold, one down
// when the queue is empty and utilization is low, never within the cooldown of the
// previous change.
#pragma once

#include "scaling/config.h"
#include "scaling/policy.h"

namespace tidal::scaling {

class ThresholdPolicy final : public ScalingPolicy {
 public:
  explicit ThresholdPolicy(const ThresholdConfig& c) : c_(c) {}
  [[nodiscard]] Recommendation recommend(const Signals& s) override;
  [[nodiscard]] std::string_view name() const override { return "threshold"; }

 private:
  ThresholdConfig c_;
  double last_change_s_ = -1e18;
};

}  // namespace tidal::scaling
