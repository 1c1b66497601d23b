#include "engine/model/preset.h"
#include "scaling/autoscaler.h"
#include "scaling/policies/hpa_policy.h"
#include "scaling/policies/kpa_policy.h"
#include "scaling/policies/predictive_policy.h"
#include "scaling/policies/schedule_policy.h"
#include "scaling/policies/slo_policy.h"
#include "scaling/policies/static_policy.h"
#include "scaling/policies/threshold_policy.h"

namespace tidal::scaling {

Result<std::unique_ptr<ScalingPolicy>> make_scaling_policy(const std::string& name, const ScalingConfig& c) {
  using Ptr = std::unique_ptr<ScalingPolicy>;
  if (name == "static") return Ptr(std::make_unique<StaticPolicy>(c.replicas));
  if (name == "threshold") return Ptr(std::make_unique<ThresholdPolicy>(c.threshold));
  if (name == "hpa") return Ptr(std::make_unique<HpaPolicy>(c.metrics, c.tolerance));
  if (name == "kpa") return Ptr(std::make_unique<KpaPolicy>(c.kpa));
  if (name == "predictive") {
    if (!(c.predictive.rps_per_replica > 0)) {
      return make_error(ErrorKind::kInvalidRequest, "predictive.rps_per_replica must be > 0", "scaling.predictive.rps_per_replica");
    }
    return Ptr(std::make_unique<PredictivePolicy>(c.predictive));
  }
  if (name == "slo") {
    const std::string prior = c.slo.prior.empty() ? "llama3-8b-h100" : c.slo.prior;
    auto preset = engine::find_preset(prior);
    if (!preset) return make_error(ErrorKind::kInvalidRequest, "unknown engine preset '" + prior + "'", "scaling.slo.prior");
    return Ptr(std::make_unique<SloPolicy>(c.slo, *preset, c.tolerance));
  }
  if (name == "schedule") {
    auto tz = TimeZone::locate(c.schedule.timezone);
    if (!tz) return make_error(ErrorKind::kInvalidRequest, tz.error().message, "scaling.schedule.timezone");
    return Ptr(std::make_unique<SchedulePolicy>(c.schedule, std::move(*tz)));
  }
  return make_error(ErrorKind::kInvalidRequest, "unknown scaling policy '" + name + "' (known: " + known_policy_list() + ")",
                    "scaling.policy");
}

}  // namespace tidal::scaling
