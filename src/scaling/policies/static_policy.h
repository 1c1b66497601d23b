// A fixed fleet size: the "static for peak" and "static for mean" baselines.
#pragma once

#include "scaling/policy.h"

namespace tidal::scaling {

class StaticPolicy final : public ScalingPolicy {
 public:
  explicit StaticPolicy(int replicas) : replicas_(replicas) {}
  [[nodiscard]] Recommendation recommend(const Signals& s) override;
  [[nodiscard]] std::string_view name() const override { return "static"; }

 private:
  int replicas_;
};

}  // namespace tidal::scaling
