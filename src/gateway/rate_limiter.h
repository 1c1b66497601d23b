// Where rate-limit buckets live: in this process (admission::LocalLimiter), or in Redis,
// shared by every gateway (RedisLimiter: one atomic Lua script per decision). The
// gatekeeper calls one of them through this interface.
//
//   rate_limits:
//     backend: redis                  # local (default) | redis
//     redis_url: redis://127.0.0.1:6379   # or unix:///run/redis.sock
//     key_prefix: "tidal:rl:"
//     on_failure: open                # Redis unreachable: open (admit) | closed (503)
//     timeout_ms: 100
//     local_cache_ms: 0               # > 0: keys far from their limit are decided without waiting
#pragma once

#include <memory>
#include <string>

#include "admission/rate_limit.h"
#include "common/error.h"
#include "http/types.h"

namespace YAML {
class Node;
}

namespace tidal::gateway {

struct RateLimitBackendConfig {
  std::string backend = "local";          // local | redis
  std::string redis_url = "redis://127.0.0.1:6379";
  std::string key_prefix = "tidal:rl:";
  bool fail_open = true;                  // on_failure: open | closed
  uint32_t timeout_ms = 100;              // connect and per-batch reply timeout
  // Decide locally, without waiting for Redis, while Redis's last answer for the key
  // (at most this old) left 10 % of the limit beyond what this gateway took since; the
  // reservation still goes to Redis. Overshoot: at most the requests admitted across
  // gateways within one round trip. 0 = every decision waits for Redis (exact).
  uint32_t local_cache_ms = 0;
};

void read_rate_limits(const YAML::Node& node, const std::string& where, RateLimitBackendConfig& out);

// The outcome when the backend could not decide (Redis down): `unavailable` set.
struct BackendDecision {
  admission::LimitDecision decision;
  bool unavailable = false;
};

class RateLimiter {
 public:
  virtual ~RateLimiter() = default;
  virtual http::awaitable<BackendDecision> reserve(std::string key, admission::RateLimits limits, double tokens) = 0;
  // Fire and forget: gives back (or charges) tokens once the response's usage is known.
  virtual void reconcile(std::string key, admission::RateLimits limits, double reserved, double used) = 0;
  // Undoes an admitted reservation another limit refused.
  virtual void cancel(std::string key, admission::RateLimits limits, double reserved) = 0;
  // Stops background work; pending decisions complete as unavailable. Idempotent.
  virtual void stop() {}
  // Decisions the backend could not make (Redis unreachable), since start.
  [[nodiscard]] virtual uint64_t failures() const { return 0; }
  // Decisions made from the local cache, without waiting for Redis.
  [[nodiscard]] virtual uint64_t local_decisions() const { return 0; }
};

[[nodiscard]] std::unique_ptr<RateLimiter> make_local_limiter();
// Connects lazily; a bad URL is an error now.
[[nodiscard]] Result<std::unique_ptr<RateLimiter>> make_redis_limiter(const RateLimitBackendConfig& config);
// The backend named by the config (validated: a bad Redis URL is an error naming the key).
[[nodiscard]] Result<std::unique_ptr<RateLimiter>> make_rate_limiter(const RateLimitBackendConfig& config);
[[nodiscard]] Result<bool> validate(const RateLimitBackendConfig& config);

}  // namespace tidal::gateway
