#include "gateway/gateway_metrics.h"

#include "common/check.h"
#include "common/metrics/exposer.h"

namespace tidal::gateway {
namespace {

using prometheus::BuildCounter;
using prometheus::BuildGauge;
const std::vector<double>& latency_buckets() {
  static const std::vector<double> b = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                                            0.25,   0.5,   1,      2.5,   5,    10,    20,    40,
                                                            80,     160,   320};
  return b;
}

}  // namespace

GatewayMetrics::GatewayMetrics() {
  auto& r = *registry_;
  requests_ = &BuildCounter().Name("tidal_requests_total").Help("Client requests by pool, endpoint and HTTP status.").Register(r);
  queue_depth_ = &BuildGauge().Name("tidal_queue_depth").Help("Requests waiting in the gateway's admission queue, by pool and tier.").Register(r);
  rejected_ = &BuildCounter().Name("tidal_queue_rejected_total").Help("Requests refused by the gateway, by pool, tier and reason (the x-tidal-drop-reason header).").Register(r);
  offloaded_ = &BuildCounter().Name("tidal_offload_requests_total").Help("Requests sent to another pool while theirs was saturated, by reason (queue_wait, cpu, memory).").Register(r);
  cost_ = &BuildCounter().Name("tidal_cost_usd_total").Help("Token cost of finished requests in pools with cost_per_1k_tokens (offload endpoints), counted apart.").Register(r);
  oldest_wait_ = &BuildGauge().Name("tidal_queue_oldest_wait_seconds").Help("How long the longest-waiting request of the pool has waited (offload's queue_wait_s is compared with it).").Register(r);
  fairness_ = &BuildGauge().Name("tidal_fairness_jain_index").Help("Jain's fairness index over tokens served per tenant since start (1 = equal shares).").Register(r);
  retries_ = &BuildCounter().Name("tidal_retries_total").Help("Upstream attempts retried on another replica.").Register(r);
  hedges_ = &BuildCounter().Name("tidal_hedges_total").Help("Hedged second copies sent (no first token after the tier's hedge delay).").Register(r);
  hedges_won_ = &BuildCounter().Name("tidal_hedges_won_total").Help("Hedged copies that answered first (the original was cancelled).").Register(r);
  retries_denied_ = &BuildCounter().Name("tidal_retries_denied_total").Help("Retries not made because the pool's retry budget was spent.").Register(r);
  breaker_open_ = &BuildGauge().Name("tidal_breaker_open").Help("1 while the replica's circuit breaker is open or half-open.").Register(r);
  breaker_trips_ = &BuildCounter().Name("tidal_breaker_trips_total").Help("Times the replica's circuit breaker opened.").Register(r);
  in_flight_ = &BuildGauge().Name("tidal_in_flight").Help("Requests in flight per replica.").Register(r);
  replica_requests_ = &BuildCounter().Name("tidal_replica_requests_total").Help("Requests answered by each replica, by HTTP status: how load was spread.").Register(r);
  tokens_in_flight_ = &BuildGauge().Name("tidal_replica_tokens_in_flight").Help("Prompt + max_tokens of the requests in flight per replica.").Register(r);
  prefix_predicted_ = &BuildGauge().Name("tidal_prefix_predicted_hit_ratio").Help("Share of prompt tokens the router predicted cached on the replica (requests whose usage was seen).").Register(r);
  prefix_observed_ = &BuildGauge().Name("tidal_prefix_observed_hit_ratio").Help("Share of prompt tokens the engine reported cached (usage.prompt_tokens_details.cached_tokens).").Register(r);
  ready_ = &BuildGauge().Name("tidal_replica_ready").Help("1 when the replica is ready to receive traffic.").Register(r);
  upstream_errors_ = &BuildCounter().Name("tidal_upstream_errors_total").Help("Upstream failures by replica and kind.").Register(r);
  internal_errors_ = &BuildCounter().Name("tidal_internal_errors_total").Help("Unexpected failures caught at the top of a coroutine.").Register(r).Add({});
  limiter_failures_ = &BuildCounter().Name("tidal_ratelimit_backend_failures_total").Help("Rate-limit decisions the backend (Redis) could not make; rate_limits.on_failure decided them.").Register(r).Add({});
  limiter_local_ = &BuildCounter().Name("tidal_ratelimit_local_decisions_total").Help("Rate-limit decisions made from the local cache without waiting for Redis (rate_limits.local_cache_ms).").Register(r).Add({});
  client_watches_ = &BuildCounter().Name("tidal_client_watches_total").Help("Requests that ran past gateway.disconnect_watch_after_ms, so their client was watched for leaving.").Register(r).Add({});
  replicas_by_state_ = &BuildGauge().Name("tidal_replicas").Help("Replicas the controller manages, by pool and state.").Register(r);
  desired_replicas_ = &BuildGauge().Name("tidal_desired_replicas").Help("Replicas (ready + starting) the controller wants.").Register(r);
  scaling_decisions_ = &BuildCounter().Name("tidal_scaling_decisions_total").Help("Scale decisions by pool, direction and the policy that drove them.").Register(r);
  add_request_counters("");  // requests refused before a pool was chosen
}

void GatewayMetrics::remove_replica(routing::ReplicaId id) {
  std::lock_guard lock(mu_);
  auto list = replicas_.load();
  if (id >= list->size() || !(*list)[id]) return;
  const auto& m = *(*list)[id];
  in_flight_->Remove(m.in_flight);
  for (auto* c : m.requests) replica_requests_->Remove(c);
  tokens_in_flight_->Remove(m.tokens_in_flight);
  prefix_predicted_->Remove(m.prefix_predicted);
  prefix_observed_->Remove(m.prefix_observed);
  ready_->Remove(m.ready);
  ttft_.remove(m.ttft);
  e2e_.remove(m.e2e);
  for (auto* c : {m.errors_connect, m.errors_reset, m.errors_timeout, m.errors_status}) upstream_errors_->Remove(c);
  breaker_open_->Remove(m.breaker_open);
  breaker_trips_->Remove(m.breaker_trips);
  auto next = std::make_shared<std::vector<std::shared_ptr<ReplicaMetrics>>>(*list);
  (*next)[id].reset();
  replicas_.store(std::move(next));
}

void GatewayMetrics::set_fleet(const std::string& pool, int starting, int ready, int draining, int desired) {
  replicas_by_state_->Add({{"pool", pool}, {"state", "starting"}}).Set(starting);
  replicas_by_state_->Add({{"pool", pool}, {"state", "ready"}}).Set(ready);
  replicas_by_state_->Add({{"pool", pool}, {"state", "draining"}}).Set(draining);
  desired_replicas_->Add({{"pool", pool}}).Set(desired);
}

void GatewayMetrics::count_offload(const std::string& from, const std::string& to, const char* reason) {
  offloaded_->Add({{"pool", from}, {"to", to}, {"reason", reason}}).Increment();
}

void GatewayMetrics::count_decision(const std::string& pool, std::string_view direction, const std::string& policy) {
  scaling_decisions_->Add({{"pool", pool}, {"direction", std::string(direction)}, {"policy", policy}}).Increment();
}

void GatewayMetrics::add_request_counters(const std::string& pool) {
  auto rc = std::make_unique<RequestCounters>();
  rc->pool = pool;
  const char* endpoints[2] = {"chat", "completions"};
  for (size_t e = 0; e < 2; ++e) {
    for (size_t c = 0; c < std::size(kStatusCodes); ++c) {
      rc->by_code[e][c] = &requests_->Add({{"pool", pool}, {"endpoint", endpoints[e]}, {"code", std::to_string(kStatusCodes[c])}});
    }
  }
  request_counters_.push_back(std::move(rc));
}

PoolMetrics& GatewayMetrics::add_pool(const std::string& pool, const std::vector<std::string>& tiers) {
  std::lock_guard lock(mu_);
  auto m = std::make_unique<PoolMetrics>();
  for (const auto& tier : tiers) {
    TierMetrics t;
    t.queue_depth = &queue_depth_->Add({{"pool", pool}, {"tier", tier}});
    t.queue_wait = &queue_wait_.add({{"pool", pool}, {"tier", tier}}, latency_buckets());
    for (size_t i = 0; i < std::size(kDropReasons); ++i) {
      t.rejected[i] = &rejected_->Add({{"pool", pool}, {"tier", tier}, {"reason", kDropReasons[i]}});
    }
    m->tiers.push_back(t);
  }
  m->retries = &retries_->Add({{"pool", pool}});
  m->retries_denied = &retries_denied_->Add({{"pool", pool}});
  m->hedges = &hedges_->Add({{"pool", pool}});
  m->hedges_won = &hedges_won_->Add({{"pool", pool}});
  m->fairness = &fairness_->Add({{"pool", pool}});
  m->fairness->Set(1);
  m->cost_usd = &cost_->Add({{"pool", pool}});
  m->oldest_wait = &oldest_wait_->Add({{"pool", pool}});
  pools_.emplace_back(pool, std::move(m));
  add_request_counters(pool);
  return *pools_.back().second;
}

PoolMetrics& GatewayMetrics::pool(const std::string& pool) {
  std::lock_guard lock(mu_);
  for (auto& [name, m] : pools_) {
    if (name == pool) return *m;
  }
  TIDAL_CHECK(false && "unknown pool");
  std::abort();
}

void GatewayMetrics::add_replica(routing::ReplicaId id, const std::string& pool, const std::string& name) {
  std::lock_guard lock(mu_);
  const prometheus::Labels l = {{"pool", pool}, {"replica", name}};
  auto m = std::make_shared<ReplicaMetrics>();
  m->pool = pool;
  m->name = name;
  for (size_t c = 0; c < std::size(kStatusCodes); ++c) {
    m->requests[c] = &replica_requests_->Add({{"pool", pool}, {"replica", name}, {"code", std::to_string(kStatusCodes[c])}});
  }
  m->tokens_in_flight = &tokens_in_flight_->Add(l);
  m->prefix_predicted = &prefix_predicted_->Add(l);
  m->prefix_observed = &prefix_observed_->Add(l);
  m->in_flight = &in_flight_->Add(l);
  m->ready = &ready_->Add(l);
  m->ttft = &ttft_.add(l, latency_buckets());
  m->e2e = &e2e_.add(l, latency_buckets());
  m->errors_connect = &upstream_errors_->Add({{"pool", pool}, {"replica", name}, {"kind", "connect"}});
  m->errors_reset = &upstream_errors_->Add({{"pool", pool}, {"replica", name}, {"kind", "reset"}});
  m->errors_timeout = &upstream_errors_->Add({{"pool", pool}, {"replica", name}, {"kind", "timeout"}});
  m->errors_status = &upstream_errors_->Add({{"pool", pool}, {"replica", name}, {"kind", "status_5xx"}});
  m->breaker_open = &breaker_open_->Add(l);
  m->breaker_trips = &breaker_trips_->Add(l);
  auto next = std::make_shared<std::vector<std::shared_ptr<ReplicaMetrics>>>(*replicas_.load());
  if (next->size() <= id) next->resize(id + 1);
  (*next)[id] = std::move(m);
  replicas_.store(std::move(next));
}

ReplicaMetrics& GatewayMetrics::replica(routing::ReplicaId id) const {
  auto list = replicas_.load();
  TIDAL_CHECK(id < list->size() && (*list)[id]);
  return *(*list)[id];
}

ReplicaMetrics* GatewayMetrics::find_replica(routing::ReplicaId id) const {
  auto list = replicas_.load();
  return id < list->size() ? (*list)[id].get() : nullptr;
}

void GatewayMetrics::count_replica_request(ReplicaMetrics& m, unsigned status) {
  for (size_t c = 0; c < std::size(kStatusCodes); ++c) {
    if (kStatusCodes[c] == status) {
      m.requests[c]->Increment();
      return;
    }
  }
  replica_requests_->Add({{"pool", m.pool}, {"replica", m.name}, {"code", std::to_string(status)}}).Increment();
}

void GatewayMetrics::refresh_routing(ReplicaMetrics& m, const routing::ReplicaStats& s) {
  m.tokens_in_flight->Set(static_cast<double>(s.tokens_in_flight.load(std::memory_order_relaxed)));
  const double prompt = static_cast<double>(s.usage_prompt.load(std::memory_order_relaxed));
  if (prompt > 0) {
    m.prefix_predicted->Set(static_cast<double>(s.predicted_cached.load(std::memory_order_relaxed)) / prompt);
    m.prefix_observed->Set(static_cast<double>(s.observed_cached.load(std::memory_order_relaxed)) / prompt);
  }
}

void GatewayMetrics::count_request(const std::string& pool, std::string_view endpoint, unsigned status) {
  const int e = endpoint == "chat" ? 0 : endpoint == "completions" ? 1 : -1;
  if (e >= 0) {
    for (const auto& rc : request_counters_) {
      if (rc->pool != pool) continue;
      for (size_t c = 0; c < std::size(kStatusCodes); ++c) {
        if (kStatusCodes[c] == status) {
          rc->by_code[e][c]->Increment();
          return;
        }
      }
      break;
    }
  }
  requests_->Add({{"pool", pool}, {"endpoint", std::string(endpoint)}, {"code", std::to_string(status)}}).Increment();
}

namespace {

// Brings a counter up to a monotonic total kept elsewhere. REQUIRES: the caller's lock.
void sync_counter(prometheus::Counter& c, uint64_t& seen, uint64_t total) {
  if (total > seen) c.Increment(static_cast<double>(total - seen));
  seen = std::max(seen, total);
}

}  // namespace

void GatewayMetrics::sync_limiter_local(uint64_t total) {
  std::lock_guard lock(mu_);
  sync_counter(*limiter_local_, limiter_local_seen_, total);
}

void GatewayMetrics::sync_limiter_failures(uint64_t total) {
  std::lock_guard lock(mu_);
  sync_counter(*limiter_failures_, limiter_failures_seen_, total);
}

void GatewayMetrics::sync_client_watches(uint64_t total) {
  std::lock_guard lock(mu_);
  sync_counter(*client_watches_, client_watches_seen_, total);
}

void GatewayMetrics::sync_internal_errors(uint64_t total) {
  std::lock_guard lock(mu_);
  sync_counter(*internal_errors_, internal_errors_seen_, total);
}

std::string GatewayMetrics::render() const { return metrics::serialize(*registry_, {&queue_wait_, &ttft_, &e2e_}); }

}  // namespace tidal::gateway
