#include "gateway/resilience.h"

#include <chrono>

#include "common/config/yaml_reader.h"
#include "common/log.h"

namespace tidal::gateway {

void read_resilience(const YAML::Node& n, const std::string& where, ResilienceConfig& c) {
  using config::read;
  config::check_keys(n, where, {"breaker", "retry_budget"});
  if (auto b = n["breaker"]) {
    const std::string w = config::join_key(where, "breaker");
    config::check_keys(b, w, {"consecutive_failures", "failure_rate", "min_requests", "window_s", "cooldown_s",
                              "max_cooldown_s", "max_ejected_pct"});
    read(b, w, "consecutive_failures", c.breaker.consecutive_failures);
    read(b, w, "failure_rate", c.breaker.failure_rate);
    read(b, w, "min_requests", c.breaker.min_requests);
    read(b, w, "window_s", c.breaker.window_s);
    read(b, w, "cooldown_s", c.breaker.cooldown_s);
    read(b, w, "max_cooldown_s", c.breaker.max_cooldown_s);
    read(b, w, "max_ejected_pct", c.breaker.max_ejected_pct);
  }
  if (auto r = n["retry_budget"]) {
    const std::string w = config::join_key(where, "retry_budget");
    config::check_keys(r, w, {"percent", "min_concurrency"});
    read(r, w, "percent", c.retry_budget.percent);
    read(r, w, "min_concurrency", c.retry_budget.min_concurrency);
  }
}

Result<bool> validate(const ResilienceConfig& c) {
  auto bad = [](const char* key, const char* why) { return make_error(ErrorKind::kInvalidRequest, why, key); };
  const auto& b = c.breaker;
  if (b.failure_rate < 0 || b.failure_rate > 1) return bad("resilience.breaker.failure_rate", "must be in [0, 1]");
  if (!(b.window_s > 0)) return bad("resilience.breaker.window_s", "must be > 0");
  if (!(b.cooldown_s > 0)) return bad("resilience.breaker.cooldown_s", "must be > 0");
  if (b.max_cooldown_s < b.cooldown_s) return bad("resilience.breaker.max_cooldown_s", "must be >= cooldown_s");
  if (b.max_ejected_pct < 0 || b.max_ejected_pct > 100) return bad("resilience.breaker.max_ejected_pct", "must be in [0, 100]");
  if (c.retry_budget.percent < 0) return bad("resilience.retry_budget.percent", "must be >= 0");
  return true;
}

std::optional<bool> replica_failed(const ProxyOutcome& out) {
  switch (out.result) {
    case ProxyResult::kClientGone:
    case ProxyResult::kLost: return std::nullopt;
    case ProxyResult::kDone: return out.status >= 500;
    case ProxyResult::kRetryable:
    case ProxyResult::kBroken: return true;
  }
  return std::nullopt;
}

void record_attempt(const fleet::Registry& registry, fleet::Replica& replica, const ProxyOutcome& out,
                    const fleet::BreakerConfig& config, ReplicaMetrics& metrics) {
  if (!config.enabled()) return;
  const auto failed = replica_failed(out);
  if (!failed) return;
  const int64_t now = std::chrono::steady_clock::now().time_since_epoch().count();
  std::string why;
  switch (replica.breaker.record(*failed, now, config, &why)) {
    case fleet::CircuitBreaker::Verdict::kNone: return;
    case fleet::CircuitBreaker::Verdict::kClosed:
      metrics.breaker_open->Set(0);
      logger("gateway")->info("circuit closed replica={} reason=probe succeeded", replica.name());
      return;
    case fleet::CircuitBreaker::Verdict::kReopened:
      metrics.breaker_trips->Increment();
      logger("gateway")->warn("circuit reopened replica={} reason=probe failed", replica.name());
      return;
    case fleet::CircuitBreaker::Verdict::kTrip: break;
  }
  const auto& log = logger("gateway");
  // The ejection cap: never open more than max_ejected_pct of the pool's ready replicas.
  size_t ready = 0, open = 0;
  for (const fleet::Replica* r : *registry.snapshot()) {
    if (r->pool != replica.pool || r->state.load() != fleet::ReplicaState::kReady) continue;
    ++ready;
    open += r->breaker.closed() ? 0 : 1;
  }
  if (static_cast<double>(open + 1) > config.max_ejected_pct / 100.0 * static_cast<double>(ready)) {
    log->warn("circuit left closed replica={} reason={} open={} ready={} (max_ejected_pct)", replica.name(), why, open,
              ready);
    return;
  }
  const double cool = replica.breaker.open(now, config);
  metrics.breaker_open->Set(1);
  metrics.breaker_trips->Increment();
  log->warn("circuit opened replica={} reason={} cooldown_s={}", replica.name(), why, cool);
}

bool RetryBudget::try_retry() {
  const int64_t active = requests_.load(std::memory_order_relaxed);
  const auto allowed = std::max<int64_t>(c_.min_concurrency, static_cast<int64_t>(c_.percent / 100.0 * static_cast<double>(active)));
  if (retries_.fetch_add(1, std::memory_order_relaxed) >= allowed) {
    retries_.fetch_sub(1, std::memory_order_relaxed);
    return false;
  }
  return true;
}

}  // namespace tidal::gateway
