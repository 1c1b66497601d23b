#include "routing/least_outstanding.h"
#include "routing/policy.h"

namespace tidal::routing {

Result<std::unique_ptr<RoutingPolicy>> make_policy(const RoutingConfig& config, uint64_t seed) {
  if (config.choices < 1) {
    return make_error(ErrorKind::kInvalidRequest, "routing.choices must be >= 1", "routing.choices");
  }
  if (config.policy == "least_outstanding") {
    return std::unique_ptr<RoutingPolicy>(std::make_unique<LeastOutstanding>(config.choices, seed));
  }
  return make_error(ErrorKind::kInvalidRequest,
                    "unknown routing policy '" + config.policy + "' (known: least_outstanding)", "routing.policy");
}

}  // namespace tidal::routing
