#include "routing/policies/session.h"

#include <cmath>

#include "routing/policies/scan.h"

namespace tidal::routing {

std::optional<ReplicaId> Session::pick(const RequestInfo& req, std::span<const ReplicaView> replicas, TimePoint) {
  if (replicas.empty()) return std::nullopt;
  if (req.session.empty()) {
    const ReplicaView* r = least_loaded(replicas, rng_.below(replicas.size()));
    return r ? std::optional(r->id) : std::nullopt;
  }
  uint64_t total = 0, eligible = 0;
  for (const auto& r : replicas) {
    if (!r.eligible()) continue;
    total += r.in_flight;
    ++eligible;
  }
  if (eligible == 0) return std::nullopt;
  // The bound counts this request too, so the first request of an idle pool fits.
  const double bound = std::ceil(load_factor_ * static_cast<double>(total + 1) / static_cast<double>(eligible));
  const uint64_t key = fnv1a64(req.session);
  const ReplicaView* best = nullptr;
  uint64_t best_score = 0;
  for (const auto& r : replicas) {
    if (!r.eligible() || r.in_flight + 1 > bound) continue;
    const uint64_t s = rendezvous(key, r.id);
    if (!best || s > best_score) {
      best = &r;
      best_score = s;
    }
  }
  if (!best) best = least_loaded(replicas, 0);
  return best ? std::optional(best->id) : std::nullopt;
}

}  // namespace tidal::routing
