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
  uint32_t engine_waiting = 0;  // from the last scrape
  double kv_usage = 0.0;        // 0..1, from the last scrape
  bool routable = false;        // ready && not ejected && not draining

  [[nodiscard]] bool has_capacity() const { return max_in_flight == 0 || in_flight < max_in_flight; }
};

struct RequestInfo {
  std::string_view model;
  std::string_view session;
  uint32_t prompt_tokens = 0;
  uint32_t max_tokens = 0;
  Priority priority = Priority::kNormal;
  std::span<const uint64_t> prefix;  // chained prefix block hashes
};

struct Outcome {
  bool success = false;
  Duration ttft{};
  Duration e2e{};
  uint32_t output_tokens = 0;
};

}  // namespace tidal::routing
