#include "routing/policies/least_outstanding.h"

namespace tidal::routing {
namespace {

bool better(const ReplicaView& a, const ReplicaView& b) {
  if (a.in_flight != b.in_flight) return a.in_flight < b.in_flight;
  return a.engine_waiting < b.engine_waiting;
}

}  // namespace

std::optional<ReplicaId> LeastOutstanding::pick(const RequestInfo&, std::span<const ReplicaView> replicas, TimePoint) {
  size_t count = 0;
  for (const auto& r : replicas) count += r.eligible() ? 1 : 0;
  if (count == 0) return std::nullopt;

  const ReplicaView* best = nullptr;
  if (choices_ == kAllChoices || count <= choices_) {
    // Exact least-outstanding; the scan starts at a random replica so ties spread.
    const size_t n = replicas.size();
    const size_t start = rng_.below(n);
    for (size_t k = 0; k < n; ++k) {
      const auto& r = replicas[(start + k) % n];
      if (r.eligible() && (!best || better(r, *best))) best = &r;
    }
    return best->id;
  }
  // Sample `choices_` distinct ranks among the eligible replicas (Floyd's method would
  // need a set; d is tiny, so retry on collision), then map ranks to replicas.
  constexpr uint32_t kMaxChoices = 8;
  uint64_t ranks[kMaxChoices];
  const uint32_t d = choices_ < kMaxChoices ? choices_ : kMaxChoices;
  for (uint32_t i = 0; i < d; ++i) {
    bool dup = true;
    while (dup) {
      ranks[i] = rng_.below(count);
      dup = false;
      for (uint32_t j = 0; j < i; ++j) dup = dup || ranks[j] == ranks[i];
    }
  }
  // Resolve ranks to replicas, then compare in sampling order so ties go to a random
  // candidate rather than to the lowest index.
  const ReplicaView* picked[kMaxChoices] = {};
  if (count == replicas.size()) {
    for (uint32_t i = 0; i < d; ++i) picked[i] = &replicas[ranks[i]];  // every one eligible: rank = index
  } else {
    size_t rank = 0;
    for (const auto& r : replicas) {
      if (!r.eligible()) continue;
      for (uint32_t i = 0; i < d; ++i) {
        if (ranks[i] == rank) picked[i] = &r;
      }
      ++rank;
    }
  }
  for (uint32_t i = 0; i < d; ++i) {
    if (!best || better(*picked[i], *best)) best = picked[i];
  }
  return best->id;
}

}  // namespace tidal::routing
