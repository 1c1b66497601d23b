// The snapshot types routing policies read: one ReplicaView per replica, copied by the
// caller just before a pick (never a live object), and the request's routing facts.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "common/clock.h"

namespace tidal::routing {

using ReplicaId = uint32_t;

enum class Priority : uint8_t { kHigh, kNormal, kLow };

struct ReplicaView {
  ReplicaId id = 0;
  uint32_t in_flight = 0;       // gateway's own count, always fresh
  uint32_t max_in_flight = 0;   // concurrency limit; 0 = unlimited
  bool routable = false;        // ready && not ejected && not draining
  // Static configuration (nginx `weight=` / `backup`).
  uint32_t weight = 1;
  bool backup = false;
  // From the last scrape of the engine's /metrics (and llama.cpp /slots).
  uint32_t engine_waiting = 0;
  uint32_t engine_running = 0;
  double kv_usage = 0.0;              // 0..1
  uint32_t slots_busy = 0, slots_total = 0;  // slots_total 0: unknown
  uint32_t in_flight_at_scrape = 0;   // the gateway's in_flight when that scrape was taken
  uint64_t kv_capacity_tokens = 0;    // the engine's KV cache size in tokens; 0: unknown
  // Kept by the gateway (routing::ReplicaStats), fresh.
  uint64_t tokens_in_flight = 0;      // prompt + max_tokens of the requests it runs
  uint64_t prefill_pending = 0;       // uncached prompt tokens sent, first token not yet back
  double latency_ms = 0;              // peak EWMA of ms per output token, as of latency_at
  TimePoint latency_at{};             // zero: no sample yet
  uint64_t prefix_clock = 0;          // prefix blocks this replica was sent (PrefixIndex stamps)

  [[nodiscard]] bool has_capacity() const { return max_in_flight == 0 || in_flight < max_in_flight; }
  [[nodiscard]] bool eligible() const { return routable && has_capacity(); }
};

struct RequestInfo {
  std::string_view model;
  std::string_view adapter;          // LoRA adapter the request names ("" = base model)
  std::string_view session;          // x-session-id header, else the body's `user`
  uint32_t prompt_tokens = 0;
  uint32_t max_tokens = 0;
  Priority priority = Priority::kNormal;
  std::span<const uint64_t> prefix;  // chained prefix block hashes (common/tokens.h)
};

enum class OutcomeKind : uint8_t { kOk, kClientError, kServerError, kTimeout, kReset, kCancelled };

struct Outcome {
  OutcomeKind kind = OutcomeKind::kOk;
  Duration ttft{};
  Duration e2e{};
  uint32_t output_tokens = 0;
  [[nodiscard]] bool success() const { return kind == OutcomeKind::kOk; }
};

}  // namespace tidal::routing
