// `tidal gateway`: the data plane. An OpenAI-compatible HTTP server in front of pools
// of replicas: parse → admission queue → route (RoutingPolicy) → proxy with retries
// before the first byte; active health checks; Prometheus metrics.
#pragma once

#include <memory>
#include <string>

#include "common/error.h"
#include "fleet/registry.h"
#include "gateway/config.h"

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

  [[nodiscard]] uint16_t port() const;
  [[nodiscard]] fleet::Registry& registry();
  [[nodiscard]] const GatewayConfig& config() const;

 private:
  class Impl;
  explicit Gateway(GatewayConfig config);
  std::unique_ptr<Impl> impl_;
};

}  // namespace tidal::gateway
