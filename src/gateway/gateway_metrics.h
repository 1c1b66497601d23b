// The gateway's Prometheus metrics (tidal_*), declared in one place. Per-pool and
// per-replica handles are created at start-up (or when a replica is added) so the
// request path only touches atomics.
#pragma once

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include <atomic>
#include <iterator>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/metrics/histogram.h"
#include "routing/replica_stats.h"
#include "routing/replica_view.h"

namespace tidal::gateway {

// Why the gateway refused a request or a waiter left the queue without a slot: the
// x-tidal-drop-reason header and the reason label of tidal_queue_rejected_total.
enum class DropReason : uint8_t { kQueueFull, kDeadline, kShed, kNoReplica, kRateLimited };
inline constexpr const char* kDropReasons[] = {"queue_full", "deadline", "shed", "no_replica", "rate_limited"};
[[nodiscard]] inline const char* name(DropReason r) { return kDropReasons[static_cast<size_t>(r)]; }

struct TierMetrics {
  prometheus::Gauge* queue_depth;
  metrics::Histogram* queue_wait;
  prometheus::Counter* rejected[std::size(kDropReasons)];
};

struct PoolMetrics {
  std::vector<TierMetrics> tiers;  // in the pool's admission tier order
  prometheus::Counter* retries;
  prometheus::Counter* retries_denied;  // the retry budget was spent
  prometheus::Counter* hedges;          // second copies sent
  prometheus::Counter* hedges_won;      // ... that answered first
  prometheus::Gauge* fairness;     // Jain's index over tokens served per tenant
  prometheus::Counter* cost_usd;   // tokens × cost_per_1k_tokens of the pool's finished requests
  prometheus::Gauge* oldest_wait;  // seconds the longest waiter has waited (set at scrape)

  void reject(uint32_t tier, DropReason r) { tiers[tier].rejected[static_cast<size_t>(r)]->Increment(); }
};

inline constexpr unsigned kStatusCodes[] = {200, 400, 401, 404, 413, 429, 500, 502, 503, 504};

struct ReplicaMetrics {
  std::string pool, name;
  prometheus::Counter* requests[std::size(kStatusCodes)];  // by code, for the usual codes
  prometheus::Gauge* tokens_in_flight;
  prometheus::Gauge* prefix_predicted;  // share of prompt tokens the router expected cached
  prometheus::Gauge* prefix_observed;   // share the engine reported cached (usage.cached_tokens)
  prometheus::Gauge* in_flight;
  prometheus::Gauge* ready;
  metrics::Histogram* ttft;
  metrics::Histogram* e2e;
  prometheus::Counter* errors_connect;
  prometheus::Counter* errors_reset;
  prometheus::Counter* errors_timeout;
  prometheus::Counter* errors_status;
  prometheus::Gauge* breaker_open;      // 1 while the circuit is open or half-open
  prometheus::Counter* breaker_trips;
};

class GatewayMetrics {
 public:
  GatewayMetrics();

  PoolMetrics& add_pool(const std::string& pool, const std::vector<std::string>& tiers);
  void add_replica(routing::ReplicaId id, const std::string& pool, const std::string& name);
  [[nodiscard]] PoolMetrics& pool(const std::string& pool);
  [[nodiscard]] ReplicaMetrics& replica(routing::ReplicaId id) const;
  // nullptr once the replica's series were removed.
  [[nodiscard]] ReplicaMetrics* find_replica(routing::ReplicaId id) const;

  // Drops a removed replica's series (stale series block other autoscalers' scale-down).
  // REQUIRES: nothing touches the replica's metrics any more.
  void remove_replica(routing::ReplicaId id);
  // The controller's view of a pool: replicas by state and the desired count.
  void set_fleet(const std::string& pool, int starting, int ready, int draining, int desired);
  void count_decision(const std::string& pool, std::string_view direction, const std::string& policy);
  void count_offload(const std::string& from, const std::string& to, const char* reason);

  // Counts a request answered by a replica, by HTTP status (tidal_replica_requests_total).
  void count_replica_request(ReplicaMetrics& m, unsigned status);
  // Sets a replica's routing gauges from its stats (at scrape time).
  void refresh_routing(ReplicaMetrics& m, const routing::ReplicaStats& s);
  // Counts a finished client request by pool, endpoint and HTTP status.
  void count_request(const std::string& pool, std::string_view endpoint, unsigned status);
  // Brings tidal_internal_errors_total up to the process-wide count (at scrape time).
  void sync_internal_errors(uint64_t total);
  void sync_limiter_failures(uint64_t total);
  void sync_limiter_local(uint64_t total);
  // Brings tidal_client_watches_total up to the server's count of watched handlers.
  void sync_client_watches(uint64_t total);

  [[nodiscard]] std::string render() const;

 private:
  std::shared_ptr<prometheus::Registry> registry_ = std::make_shared<prometheus::Registry>();
  prometheus::Family<prometheus::Counter>* requests_;
  prometheus::Family<prometheus::Gauge>* queue_depth_;
  // Observed on the request path: tidal's lock-free histograms, rendered after the registry's.
  metrics::HistogramFamily queue_wait_{"tidal_queue_wait_seconds",
                                       "Time admitted requests waited in the admission queue, by pool and tier."};
  prometheus::Family<prometheus::Counter>* rejected_;
  prometheus::Family<prometheus::Counter>* retries_;
  prometheus::Family<prometheus::Counter>* retries_denied_;
  prometheus::Family<prometheus::Counter>* hedges_;
  prometheus::Family<prometheus::Counter>* hedges_won_;
  prometheus::Family<prometheus::Gauge>* breaker_open_;
  prometheus::Family<prometheus::Counter>* breaker_trips_;
  prometheus::Family<prometheus::Gauge>* fairness_;
  prometheus::Family<prometheus::Counter>* offloaded_;
  prometheus::Family<prometheus::Counter>* cost_;
  prometheus::Family<prometheus::Gauge>* oldest_wait_;
  prometheus::Family<prometheus::Gauge>* in_flight_;
  prometheus::Family<prometheus::Counter>* replica_requests_;
  prometheus::Family<prometheus::Gauge>* tokens_in_flight_;
  prometheus::Family<prometheus::Gauge>* prefix_predicted_;
  prometheus::Family<prometheus::Gauge>* prefix_observed_;
  prometheus::Family<prometheus::Gauge>* ready_;
  metrics::HistogramFamily ttft_{"tidal_ttft_seconds",
                                 "Time to the first response byte (first token for streams), per replica."};
  metrics::HistogramFamily e2e_{"tidal_e2e_seconds", "End-to-end request latency per replica."};
  prometheus::Family<prometheus::Counter>* upstream_errors_;
  prometheus::Counter* internal_errors_;
  uint64_t internal_errors_seen_ = 0;  // under mu_
  prometheus::Counter* limiter_failures_;
  uint64_t limiter_failures_seen_ = 0;  // under mu_
  prometheus::Counter* limiter_local_;
  uint64_t limiter_local_seen_ = 0;  // under mu_
  prometheus::Counter* client_watches_;
  uint64_t client_watches_seen_ = 0;  // under mu_
  prometheus::Family<prometheus::Gauge>* replicas_by_state_;
  prometheus::Family<prometheus::Gauge>* desired_replicas_;
  prometheus::Family<prometheus::Counter>* scaling_decisions_;

  // Request counters for the usual codes, created with the pool so the request path
  // skips prometheus-cpp's label lookup (a mutex and a hash per call).
  struct RequestCounters {
    std::string pool;
    prometheus::Counter* by_code[2][std::size(kStatusCodes)];  // [chat, completions][code]
  };
  void add_request_counters(const std::string& pool);
  std::vector<std::unique_ptr<RequestCounters>> request_counters_;  // fixed once serving starts

  mutable std::mutex mu_;
  std::vector<std::pair<std::string, std::unique_ptr<PoolMetrics>>> pools_;
  std::atomic<std::shared_ptr<const std::vector<std::shared_ptr<ReplicaMetrics>>>> replicas_{
      std::make_shared<const std::vector<std::shared_ptr<ReplicaMetrics>>>()};
};

}  // namespace tidal::gateway
