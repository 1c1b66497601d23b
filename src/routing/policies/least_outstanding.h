// Least outstanding requests with the power of d choices: sample d eligible replicas
// at random and take the one with the fewest in-flight requests (ties: fewer waiting
// in the engine). d = 2 avoids both herding onto one "least loaded" replica and the
// O(n) cost of a full scan; with d >= n, or d = kAllChoices (`choices: all`, nginx's
// least_conn), it is exact least-outstanding.
#pragma once

#include "common/rng.h"
#include "routing/policy.h"

namespace tidal::routing {

class LeastOutstanding final : public RoutingPolicy {
 public:
  LeastOutstanding(uint32_t choices, uint64_t seed) : choices_(choices), rng_(seed) {}
  [[nodiscard]] std::optional<ReplicaId> pick(const RequestInfo& req, std::span<const ReplicaView> replicas,
                                              TimePoint now) override;
  [[nodiscard]] std::string_view name() const override { return "least_outstanding"; }

 private:
  uint32_t choices_;
  Rng rng_;
};

}  // namespace tidal::routing
