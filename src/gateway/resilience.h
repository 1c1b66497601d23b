// Failure handling on the request path: what a finished upstream attempt means for the
// replica's circuit breaker (with the pool-wide ejection cap), and the retry budget
// that keeps retries a bounded share of live traffic (Envoy's retry_budget), so
// retries never amplify an outage.
//
//   resilience:
//     breaker: {consecutive_failures: 5, failure_rate: 0.5, min_requests: 20, window_s: 10,
//               cooldown_s: 5, max_cooldown_s: 60, max_ejected_pct: 50}
//     retry_budget: {percent: 20, min_concurrency: 3}
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

#include "fleet/breaker.h"
#include "fleet/registry.h"
#include "gateway/gateway_metrics.h"
#include "gateway/proxy.h"

namespace YAML {
class Node;
}

namespace tidal::gateway {

struct RetryBudgetConfig {
  double percent = 20;           // retries in flight at most this % of the pool's requests in flight
  uint32_t min_concurrency = 3;  // ... but always this many
};

struct ResilienceConfig {
  fleet::BreakerConfig breaker;
  RetryBudgetConfig retry_budget;
};

void read_resilience(const YAML::Node& node, const std::string& where, ResilienceConfig& out);
[[nodiscard]] Result<bool> validate(const ResilienceConfig& c);

// Whether an attempt's outcome counts against the replica (5xx, connect, reset,
// timeout, broken stream); nullopt when it says nothing (the client left).
[[nodiscard]] std::optional<bool> replica_failed(const ProxyOutcome& out);

// Feeds an attempt's outcome to the replica's breaker: opens it on a trip unless the
// pool would then have more than max_ejected_pct of its ready replicas open; logs
// every state change and counts trips.
void record_attempt(const fleet::Registry& registry, fleet::Replica& replica, const ProxyOutcome& out,
                    const fleet::BreakerConfig& config, ReplicaMetrics& metrics);

// Requests and retries in flight per pool.
class RetryBudget {
 public:
  explicit RetryBudget(RetryBudgetConfig c) : c_(c) {}
  // Counts a request in flight for its lifetime.
  struct Active {
    RetryBudget& b;
    explicit Active(RetryBudget& budget) : b(budget) { b.requests_.fetch_add(1, std::memory_order_relaxed); }
    ~Active() { b.requests_.fetch_sub(1, std::memory_order_relaxed); }
  };
  // Takes a retry token if the budget allows one now; give it back with end_retry().
  [[nodiscard]] bool try_retry();
  void end_retry() { retries_.fetch_sub(1, std::memory_order_relaxed); }

 private:
  RetryBudgetConfig c_;
  std::atomic<int64_t> requests_{0}, retries_{0};
};

}  // namespace tidal::gateway
