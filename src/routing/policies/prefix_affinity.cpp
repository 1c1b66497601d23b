#include "routing/policies/prefix_affinity.h"

#include <algorithm>

#include "common/tokens.h"

namespace tidal::routing {

uint32_t cached_tokens(uint32_t blocks, uint32_t prompt_tokens) {
  return std::min<uint32_t>(blocks * kKvBlockTokens, prompt_tokens);
}

std::optional<ReplicaId> PrefixAffinity::pick(const RequestInfo& req, std::span<const ReplicaView> replicas,
                                              TimePoint) {
  const size_t n = replicas.size();
  if (n == 0) return std::nullopt;
  const PrefixMatches held = index_.matches(req.prefix);
  const ReplicaView* best = nullptr;      // cheapest under the saturation limit
  const ReplicaView* any = nullptr;       // cheapest at all
  uint64_t best_cost = 0, any_cost = 0;
  const size_t start = rng_.below(n);     // ties go to a random replica
  for (size_t k = 0; k < n; ++k) {
    const auto& r = replicas[(start + k) % n];
    if (!r.eligible()) continue;
    const uint64_t uncached = req.prompt_tokens - cached_tokens(held.held(r.id), req.prompt_tokens);
    const uint64_t cost = r.prefill_pending + uncached + c_.request_cost_tokens * r.in_flight;
    if (!any || cost < any_cost) {
      any = &r;
      any_cost = cost;
    }
    if (r.prefill_pending < c_.max_pending_prefill_tokens && (!best || cost < best_cost)) {
      best = &r;
      best_cost = cost;
    }
  }
  if (!any) return std::nullopt;
  return (best ? best : any)->id;
}

uint32_t PrefixAffinity::on_dispatch(ReplicaId id, const RequestInfo& req) {
  return cached_tokens(index_.record(id, req.prefix), req.prompt_tokens);
}

}  // namespace tidal::routing
