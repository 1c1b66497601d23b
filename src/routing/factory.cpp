#include "routing/policies/basic.h"
#include "routing/policies/composite.h"
#include "routing/policies/least_outstanding.h"
#include "routing/policies/prefix_affinity.h"
#include "routing/policies/session.h"
#include "routing/policy.h"

namespace tidal::routing {

Result<std::unique_ptr<RoutingPolicy>> make_policy(const RoutingConfig& c, SharedState& shared, uint64_t seed) {
  if (auto ok = validate(c, "routing"); !ok) return ok.error();
  std::unique_ptr<RoutingPolicy> p;
  if (c.policy == "least_outstanding") {
    p = std::make_unique<LeastOutstanding>(c.choices, seed);
  } else if (c.policy == "round_robin") {
    p = std::make_unique<RoundRobin>(shared);
  } else if (c.policy == "random") {
    p = std::make_unique<RandomPick>(seed);
  } else if (c.policy == "weighted") {
    p = std::make_unique<Weighted>(shared);
  } else if (c.policy == "session") {
    p = std::make_unique<Session>(c.session_load_factor, seed);
  } else if (c.policy == "prefix_affinity") {
    p = std::make_unique<PrefixAffinity>(*shared.prefix, c.prefix, seed);
  } else if (auto spec = composite_spec(c)) {
    p = std::make_unique<Composite>(std::move(*spec), shared.prefix.get(), seed);
  } else {
    return make_error(ErrorKind::kInvalidRequest, "no factory for routing policy '" + c.policy + "'", "routing.policy");
  }
  return p;
}

}  // namespace tidal::routing
