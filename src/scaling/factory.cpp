#include "scaling/policies/hpa_policy.h"
#include "scaling/policies/kpa_policy.h"
#include "scaling/policies/predictive_policy.h"
#include "scaling/policies/static_policy.h"
#include "scaling/policies/threshold_policy.h"
#include "scaling/autoscaler.h"

namespace tidal::scaling {

Result<std::unique_ptr<ScalingPolicy>> make_scaling_policy(const std::string& name, const ScalingConfig& c) {
  if (name == "static") return std::unique_ptr<ScalingPolicy>(std::make_unique<StaticPolicy>(c.replicas));
  if (name == "threshold") return std::unique_ptr<ScalingPolicy>(std::make_unique<ThresholdPolicy>(c.threshold));
  if (name == "hpa") return std::unique_ptr<ScalingPolicy>(std::make_unique<HpaPolicy>(c.metrics, c.tolerance));
  if (name == "kpa") return std::unique_ptr<ScalingPolicy>(std::make_unique<KpaPolicy>(c.kpa));
  if (name == "predictive") {
    if (!(c.predictive.rps_per_replica > 0)) {
      return make_error(ErrorKind::kInvalidRequest, "predictive.rps_per_replica must be > 0", "scaling.predictive.rps_per_replica");
    }
    return std::unique_ptr<ScalingPolicy>(std::make_unique<PredictivePolicy>(c.predictive));
  }
  return make_error(ErrorKind::kInvalidRequest, "unknown scaling policy '" + name + "' (known: static, threshold, hpa, kpa, predictive)",
                    "scaling.policy");
}

}  // namespace tidal::scaling
