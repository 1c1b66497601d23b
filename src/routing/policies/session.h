// Session affinity for multi-turn chat: rendezvous hashing of the session key (the
// x-session-id header, else the body's `user`) with bounded load (Mirrokni et al.,
// "Consistent Hashing with Bounded Loads"): a session goes to the highest-weight
// replica for its key whose in-flight count is under load_factor × the mean (+1), so
// a hot session spills to its next replica instead of overloading one. Adding or
// removing a replica moves only the sessions that hashed to it. Requests without a
// session key go to the least loaded replica.
#pragma once

#include "common/rng.h"
#include "routing/policy.h"

namespace tidal::routing {

class Session final : public RoutingPolicy {
 public:
  Session(double load_factor, uint64_t seed) : load_factor_(load_factor), rng_(seed) {}
  std::optional<ReplicaId> pick(const RequestInfo& req, std::span<const ReplicaView> replicas, TimePoint now) override;
  std::string_view name() const override { return "session"; }

 private:
  double load_factor_;
  Rng rng_;
};

}  // namespace tidal::routing
