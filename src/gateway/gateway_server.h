// `tidal gateway`: the data plane. An OpenAI-compatible HTTP server in front of pools
// of replicas: parse → admission queue → route (RoutingPolicy) → proxy with retries
// before the first byte; active health checks; Prometheus metrics.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "common/error.h"
#include "fleet/registry.h"
#include "gateway/config.h"
#include "scaling/load_window.h"

namespace tidal::gateway {

class Gateway {
 public:
  static Result<std::unique_ptr<Gateway>> create(GatewayConfig config);
  ~Gateway();

  // Adds a replica to a pool; health checks decide when it is ready. Thread-safe; may
  // be called before or after start().
  Result<fleet::ReplicaId> add_replica(const std::string& pool, const std::string& url);
  // Binds, then runs the event loops. Throws if the port cannot be bound.
  void start();
  void stop();
  void join();
  // Graceful shutdown, first step: report not ready (/readyz 503), stop accepting
  // connections, and wait up to `timeout_s` for the requests being served (streams
  // included) to finish. Then stop() and join(). Blocks the calling thread.
  void drain(double timeout_s);

  // For the controller (any thread): the pool's load counters since start, its queue.
  [[nodiscard]] scaling::LoadCounters load(const std::string& pool) const;
  // Requests of `pool` finished since the last call, for the slo policy's calibration;
  // the first call turns collection on (off until a controller asks).
  [[nodiscard]] std::vector<scaling::RequestSample> take_samples(const std::string& pool);
  [[nodiscard]] size_t queue_depth(const std::string& pool) const;
  // Takes a replica out of service for good: no new requests, health checks stop, its
  // metric series are dropped once nothing uses them.
  void retire_replica(fleet::ReplicaId id, std::string_view reason);
  // The controller's view of a pool, exported as tidal_replicas / tidal_desired_replicas;
  // `direction` (up | down) counts a decision in tidal_scaling_decisions_total.
  void record_fleet(const std::string& pool, int starting, int ready, int draining, int desired);
  void count_decision(const std::string& pool, std::string_view direction, const std::string& policy);
  // The pool's local replicas' mean CPU (% of one core) and memory (% of the host), for
  // its offload thresholds; < 0: unknown.
  void record_host(const std::string& pool, double cpu_pct, double mem_pct);
  // The pool scales from zero: at zero replicas requests wait in its queue and `poke`
  // asks the controller for capacity at once. Set before start().
  void wait_at_zero(const std::string& pool, std::function<void()> poke);
  // GET /admin/scaling answers with what `json` returns (application/json). Set before start().
  void set_admin_scaling(std::function<std::string()> json);

  [[nodiscard]] uint16_t port() const;
  [[nodiscard]] fleet::Registry& registry();
  [[nodiscard]] const GatewayConfig& config() const;

 private:
  class Impl;
  explicit Gateway(GatewayConfig config);
  std::unique_ptr<Impl> impl_;
};

}  // namespace tidal::gateway
