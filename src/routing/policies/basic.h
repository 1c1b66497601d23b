// Load-blind policies: round_robin, random, and weighted (nginx's smooth weighted round
// robin with `backup` replicas used only when no other is routable).
#pragma once

#include <vector>

#include "common/rng.h"
#include "routing/policy.h"

namespace tidal::routing {

// The next replica in list order after the last one picked (a counter shared by every
// event loop of the pool), skipping replicas that are not routable or full.
class RoundRobin final : public RoutingPolicy {
 public:
  explicit RoundRobin(SharedState& shared) : shared_(shared) {}
  std::optional<ReplicaId> pick(const RequestInfo& req, std::span<const ReplicaView> replicas, TimePoint now) override;
  std::string_view name() const override { return "round_robin"; }

 private:
  SharedState& shared_;
};

// Uniform among the eligible replicas.
class RandomPick final : public RoutingPolicy {
 public:
  explicit RandomPick(uint64_t seed) : rng_(seed) {}
  std::optional<ReplicaId> pick(const RequestInfo& req, std::span<const ReplicaView> replicas, TimePoint now) override;
  std::string_view name() const override { return "random"; }

 private:
  Rng rng_;
};

// nginx's smooth weighted round robin: over any run of sum(weights) picks each replica
// is chosen exactly `weight` times, interleaved (5,1,1 gives a a b a c a a). The
// sequence is computed once per set of routable replicas (rebuilt when that set or a
// weight changes) and walked with the pool's shared counter, so all event loops
// together follow it. Backups join only when no primary is routable; a full replica
// is skipped for its turn.
class Weighted final : public RoutingPolicy {
 public:
  explicit Weighted(SharedState& shared) : shared_(shared) {}
  std::optional<ReplicaId> pick(const RequestInfo& req, std::span<const ReplicaView> replicas, TimePoint now) override;
  std::string_view name() const override { return "weighted"; }

 private:
  void rebuild(std::span<const ReplicaView> replicas, bool backups);
  SharedState& shared_;
  uint64_t signature_ = 0;
  std::vector<uint32_t> cycle_;  // positions in the replica span
};

}  // namespace tidal::routing
