// The Kubernetes HPA v2 replica calculation, exactly: per metric a usage ratio against
// its target with a tolerance (0.1), per-replica metrics averaged over the replicas that
// report them with the upstream handling of missing and unready replicas, the max over
// metrics, and no scale-down while any metric is missing. `behavior` is applied after
// this by scaling::Behavior, as the HPA does.
#pragma once

#include "scaling/config.h"
#include "scaling/policy.h"

namespace tidal::scaling {

// One metric's proposal; nullopt when the metric has no value (invalid).
[[nodiscard]] std::optional<int> hpa_replicas_for_metric(const MetricSpec& m, const Signals& s, double tolerance);

class HpaPolicy final : public ScalingPolicy {
 public:
  HpaPolicy(std::vector<MetricSpec> metrics, double tolerance) : metrics_(std::move(metrics)), tolerance_(tolerance) {}
  [[nodiscard]] Recommendation recommend(const Signals& s) override;
  [[nodiscard]] std::string_view name() const override { return "hpa"; }

 private:
  std::vector<MetricSpec> metrics_;
  double tolerance_;
};

// The value of a pool metric in the signals (concurrency = in flight + queued).
[[nodiscard]] std::optional<double> pool_metric(std::string_view name, const Signals& s);
// The value of a per-replica metric of one replica; nullopt if it was not sampled.
[[nodiscard]] std::optional<double> replica_metric(std::string_view name, const ReplicaSample& r);

}  // namespace tidal::scaling
