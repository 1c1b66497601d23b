#include "routing/policies/basic.h"

namespace tidal::routing {
namespace {

constexpr size_t kMaxCycle = 1 << 16;

// Order-sensitive combination (Boost's hash_combine) for the replica-set signature.
uint64_t mix(uint64_t h, uint64_t v) {
  h ^= v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
  return h;
}

}  // namespace

std::optional<ReplicaId> RoundRobin::pick(const RequestInfo&, std::span<const ReplicaView> replicas, TimePoint) {
  const size_t n = replicas.size();
  if (n == 0) return std::nullopt;
  const size_t start = shared_.turn.fetch_add(1, std::memory_order_relaxed) % n;
  for (size_t k = 0; k < n; ++k) {
    const auto& r = replicas[(start + k) % n];
    if (r.eligible()) return r.id;
  }
  return std::nullopt;
}

std::optional<ReplicaId> RandomPick::pick(const RequestInfo&, std::span<const ReplicaView> replicas, TimePoint) {
  size_t count = 0;
  for (const auto& r : replicas) count += r.eligible() ? 1 : 0;
  if (count == 0) return std::nullopt;
  size_t rank = rng_.below(count);
  for (const auto& r : replicas) {
    if (r.eligible() && rank-- == 0) return r.id;
  }
  return std::nullopt;
}

void Weighted::rebuild(std::span<const ReplicaView> replicas, bool backups) {
  cycle_.clear();
  std::vector<int64_t> current(replicas.size(), 0);
  int64_t total = 0;
  for (const auto& r : replicas) {
    if (r.routable && r.backup == backups) total += r.weight;
  }
  for (int64_t step = 0; step < total && cycle_.size() < kMaxCycle; ++step) {
    size_t best = replicas.size();
    for (size_t i = 0; i < replicas.size(); ++i) {
      const auto& r = replicas[i];
      if (!r.routable || r.backup != backups) continue;
      current[i] += r.weight;
      if (best == replicas.size() || current[i] > current[best]) best = i;
    }
    current[best] -= total;
    cycle_.push_back(static_cast<uint32_t>(best));
  }
}

std::optional<ReplicaId> Weighted::pick(const RequestInfo&, std::span<const ReplicaView> replicas, TimePoint) {
  bool primary = false;
  for (const auto& r : replicas) primary = primary || (r.routable && !r.backup && r.weight > 0);
  uint64_t sig = primary ? 1 : 2;
  for (const auto& r : replicas) {
    if (r.routable && r.backup != primary) sig = mix(mix(sig, r.id), r.weight);
  }
  sig = mix(sig, replicas.size());
  if (sig != signature_) {
    signature_ = sig;
    rebuild(replicas, !primary);
  }
  if (cycle_.empty()) return std::nullopt;
  const size_t len = cycle_.size();
  const size_t start = shared_.turn.fetch_add(1, std::memory_order_relaxed) % len;
  for (size_t k = 0; k < len; ++k) {
    const auto& r = replicas[cycle_[(start + k) % len]];
    if (r.eligible()) return r.id;
  }
  return std::nullopt;
}

}  // namespace tidal::routing
