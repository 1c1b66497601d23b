// The oracle baseline: perfect knowledge of the load's future rate (the workload's rate
// curve) and the same cold starts as everyone else. Each tick it asks for the replicas
// the highest rate of the next cold start + tick needs, at the replica capacity the
// static baselines use — so capacity is ready when the load arrives and goes when it
// leaves. A lower bound on what a causal policy can cost at the same capacity target.
#pragma once

#include <functional>

#include "scaling/policy.h"

namespace tidal::sim {

class OraclePolicy final : public scaling::ScalingPolicy {
 public:
  OraclePolicy(std::function<double(double)> rate_at, double capacity_rps, double lead_s)
      : rate_at_(std::move(rate_at)), capacity_rps_(capacity_rps), lead_s_(lead_s) {}
  [[nodiscard]] scaling::Recommendation recommend(const scaling::Signals& s) override;
  [[nodiscard]] std::string_view name() const override { return "oracle"; }

 private:
  std::function<double(double)> rate_at_;
  double capacity_rps_;
  double lead_s_;
};

}  // namespace tidal::sim
