// The routing policy interface. Policies are pure and synchronous: no I/O, no clock
// reads, no allocation on the hot path; the gateway and the simulator call the same
// objects. The gateway makes one policy object per event loop (its own random state)
// over one SharedState per pool (counters, the prefix index), and per-replica state
// lives in ReplicaStats atomics read through ReplicaView: every loop sees all traffic.
#pragma once

#include <atomic>
#include <memory>
#include <optional>
#include <span>
#include <string>

#include "common/error.h"
#include "routing/config.h"
#include "routing/prefix_index.h"
#include "routing/replica_view.h"

namespace tidal::routing {

// What the policies of one pool share across event loops.
struct SharedState {
  explicit SharedState(const RoutingConfig& c)
      : prefix(c.uses_prefix_index() ? std::make_unique<PrefixIndex>(c.prefix.cache_blocks) : nullptr) {}
  std::atomic<uint64_t> turn{0};        // round_robin / weighted position
  std::unique_ptr<PrefixIndex> prefix;  // prefix_affinity and the prefix scorer
};

class RoutingPolicy {
 public:
  virtual ~RoutingPolicy() = default;
  // A routable replica with capacity, or nullopt when there is none.
  [[nodiscard]] virtual std::optional<ReplicaId> pick(const RequestInfo& req, std::span<const ReplicaView> replicas,
                                                      TimePoint now) = 0;
  // The request now holds a slot on `id`: policies with a model of the replicas update
  // it. Returns the prompt tokens it predicts the replica has cached (0 if it keeps no
  // prefix model).
  virtual uint32_t on_dispatch(ReplicaId, const RequestInfo&) { return 0; }
  // The request ended (per-replica latency and token counts are kept in ReplicaStats
  // by the caller; this is for policies with state of their own).
  virtual void on_complete(ReplicaId, const Outcome&, TimePoint) {}
  // The replica left the pool for good.
  virtual void on_removed(ReplicaId) {}
  [[nodiscard]] virtual std::string_view name() const = 0;
};

[[nodiscard]] Result<std::unique_ptr<RoutingPolicy>> make_policy(const RoutingConfig& config, SharedState& shared,
                                                                 uint64_t seed);

}  // namespace tidal::routing
