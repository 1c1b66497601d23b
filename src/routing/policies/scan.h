// Small helpers the policies share.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "common/hash.h"
#include "routing/replica_view.h"

namespace tidal::routing {

// The eligible replica with the fewest requests in flight (ties: less uncached prefill
// queued, then fewer waiting in the engine), scanning from position `start` so ties
// spread; nullptr if none is eligible.
inline const ReplicaView* least_loaded(std::span<const ReplicaView> replicas, size_t start) {
  const ReplicaView* best = nullptr;
  const size_t n = replicas.size();
  for (size_t k = 0; k < n; ++k) {
    const auto& r = replicas[(start + k) % n];
    if (!r.eligible()) continue;
    if (!best || r.in_flight < best->in_flight ||
        (r.in_flight == best->in_flight &&
         (r.prefill_pending < best->prefill_pending ||
          (r.prefill_pending == best->prefill_pending && r.engine_waiting < best->engine_waiting)))) {
      best = &r;
    }
  }
  return best;
}

// A mixer for rendezvous weights and signatures.
inline uint64_t mix64(uint64_t x) {  // splitmix64's finaliser
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}
// Rendezvous (highest random weight) score of a replica for a key.
inline uint64_t rendezvous(uint64_t key, ReplicaId id) { return mix64(key ^ mix64(id + 0x51ed27ULL)); }

}  // namespace tidal::routing
