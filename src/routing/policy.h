// The routing policy interface. Policies are pure and synchronous: no I/O, no clock
// reads, no allocation on the hot path; the gateway (one instance per event loop) and
// the simulator call the same objects.
#pragma once

#include <memory>
#include <optional>
#include <span>
#include <string>

#include "common/error.h"
#include "routing/replica_view.h"

namespace tidal::routing {

class RoutingPolicy {
 public:
  virtual ~RoutingPolicy() = default;
  // A routable replica with capacity, or nullopt when there is none.
  [[nodiscard]] virtual std::optional<ReplicaId> pick(const RequestInfo& req, std::span<const ReplicaView> replicas,
                                                      TimePoint now) = 0;
  virtual void on_complete(ReplicaId, const Outcome&) {}
  [[nodiscard]] virtual std::string_view name() const = 0;
};

struct RoutingConfig {
  std::string policy = "least_outstanding";  // least_outstanding (power of d choices)
  uint32_t choices = 2;                      // d: replicas sampled per pick; REQUIRES: >= 1
};

[[nodiscard]] Result<std::unique_ptr<RoutingPolicy>> make_policy(const RoutingConfig& config, uint64_t seed);

}  // namespace tidal::routing
