// Replica snapshots for routing tests.
#pragma once

#include "routing/replica_view.h"

namespace tidal::routing::testing {

inline ReplicaView view(ReplicaId id, uint32_t in_flight, bool routable = true, uint32_t max = 0, uint32_t waiting = 0) {
  ReplicaView v;
  v.id = id;
  v.in_flight = in_flight;
  v.routable = routable;
  v.max_in_flight = max;
  v.engine_waiting = waiting;
  return v;
}

// A routable replica with no limit.
inline ReplicaView ready(ReplicaId id, uint32_t in_flight = 0) { return view(id, in_flight); }

}  // namespace tidal::routing::testing
