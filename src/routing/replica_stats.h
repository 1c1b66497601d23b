// The per-replica state routing keeps about the requests it sent: tokens in flight,
// uncached prefill waiting for its first token, a peak-EWMA of latency, and the prefix
// cache prediction's accuracy. Atomics, one set per replica, shared by every event loop
// of the gateway (each updates them for its own requests; policies read them through
// ReplicaView), and the same object in the simulator. The gateway and the simulator
// call dispatched / first_token / finished at the same points of a request's life.
#pragma once

#include <atomic>
#include <cstdint>

#include "routing/replica_view.h"

namespace tidal::routing {

struct ReplicaStats {
  std::atomic<uint64_t> tokens_in_flight{0};
  std::atomic<uint64_t> prefill_pending{0};
  std::atomic<double> latency_ms{0};         // peak EWMA of ms per output token
  std::atomic<int64_t> latency_at_ns{0};     // TimePoint of the last sample; 0 = none
  // Prefix prediction vs what the engine reported, over requests whose usage was seen.
  std::atomic<uint64_t> predicted_cached{0}, observed_cached{0}, usage_prompt{0};

  // Copies the fields above into `v`.
  void fill(ReplicaView& v) const;
};

// One request on one replica, from dispatch to its end.
struct Ticket {
  uint32_t reserved = 0;          // counted in tokens_in_flight
  uint32_t uncached = 0;          // counted in prefill_pending until the first token
  uint32_t predicted_cached = 0;  // prompt tokens the router expected to be cached
  bool first_token = false;
};

// The request was sent: `predicted_cached_tokens` from RoutingPolicy::on_dispatch.
[[nodiscard]] Ticket dispatched(ReplicaStats& s, const RequestInfo& req, uint32_t predicted_cached_tokens);
// Its first token (or its whole answer) came back.
void first_token(ReplicaStats& s, Ticket& t);
// It ended (any way; a cancelled or failed request releases what it held). Successes
// feed the latency EWMA with ms per output token; server errors, timeouts and resets
// count as a 1 s/token peak so a failing replica is avoided until the penalty decays.
void finished(ReplicaStats& s, Ticket& t, const Outcome& o, TimePoint now, double half_life_s);
// The engine said how many prompt tokens it found cached (usage.prompt_tokens_details).
void observed_usage(ReplicaStats& s, const Ticket& t, uint32_t prompt_tokens, uint32_t cached_tokens);

// The latency EWMA as of `now` (decays toward 0 with the half-life, as Finagle's does).
[[nodiscard]] double decayed_latency_ms(const ReplicaView& v, TimePoint now, double half_life_s);

}  // namespace tidal::routing
