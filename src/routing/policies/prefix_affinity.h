// Cache-aware routing: a request goes where its prompt costs the least work, counting
// the KV cache each replica probably holds (the pool's PrefixIndex) — work, not
// request counts:
//   cost = uncached prefill queued there (sent, first token not back)
//        + this prompt's tokens that replica does not hold
//        + request_cost_tokens × its requests in flight
// so a conversation goes back to the replica holding its history (thousands of tokens
// saved) even when others are idler, while new conversations that share only a
// system prompt spread by load. Sticky until saturated: a replica with
// max_pending_prefill_tokens or more of uncached prefill queued is passed over while
// any other replica is under it.
#pragma once

#include "common/rng.h"
#include "routing/policy.h"

namespace tidal::routing {

class PrefixAffinity final : public RoutingPolicy {
 public:
  PrefixAffinity(PrefixIndex& index, PrefixConfig config, uint64_t seed) : index_(index), c_(config), rng_(seed) {}
  std::optional<ReplicaId> pick(const RequestInfo& req, std::span<const ReplicaView> replicas, TimePoint now) override;
  uint32_t on_dispatch(ReplicaId id, const RequestInfo& req) override;
  void on_removed(ReplicaId id) override { index_.forget(id); }
  std::string_view name() const override { return "prefix_affinity"; }

 private:
  PrefixIndex& index_;
  PrefixConfig c_;
  Rng rng_;
};

// Prompt tokens covered by `blocks` leading 16-token blocks, at most the prompt.
[[nodiscard]] uint32_t cached_tokens(uint32_t blocks, uint32_t prompt_tokens);

}  // namespace tidal::routing
