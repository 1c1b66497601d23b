#include "scaling/policies/static_policy.h"
#include "scaling/policies/threshold_policy.h"
#include "scaling/policy.h"

namespace tidal::scaling {

Result<std::unique_ptr<ScalingPolicy>> make_scaling_policy(const ScalingConfig& c) {
  if (c.replicas < 0) return make_error(ErrorKind::kInvalidRequest, "scaling.replicas must be >= 0", "scaling.replicas");
  if (c.policy == "static") return std::unique_ptr<ScalingPolicy>(std::make_unique<StaticPolicy>(c.replicas));
  if (c.policy == "threshold") {
    if (c.cooldown_s < 0) return make_error(ErrorKind::kInvalidRequest, "scaling.cooldown_s must be >= 0", "scaling.cooldown_s");
    return std::unique_ptr<ScalingPolicy>(std::make_unique<ThresholdPolicy>(c));
  }
  return make_error(ErrorKind::kInvalidRequest, "unknown scaling policy '" + c.policy + "' (known: static, threshold)",
                    "scaling.policy");
}

}  // namespace tidal::scaling
