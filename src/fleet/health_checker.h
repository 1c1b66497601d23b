// Active health checks: one cancellable coroutine per replica polls GET /health.
// `unhealthy_threshold` consecutive failures eject a ready replica; `healthy_threshold`
// consecutive successes (re)admit a starting or ejected one. Passive ejection (a
// refused connection) is the proxy's: it calls Registry::set_state directly.
#pragma once

#include <chrono>
#include <string>

#include "fleet/registry.h"
#include "http/types.h"

namespace tidal::fleet {

struct HealthCheckConfig {
  std::chrono::milliseconds interval{1000};  // between checks of one replica
  std::chrono::milliseconds timeout{1000};   // per check
  uint32_t unhealthy_threshold = 2;          // failures before ejection; REQUIRES: >= 1
  uint32_t healthy_threshold = 1;            // successes before (re)admission; REQUIRES: >= 1
  std::string path = "/health";
  // A replica still starting after this long is ejected (never ready), so a pool of dead
  // upstreams answers 503 at once instead of holding requests; health checks go on and
  // re-admit it if it comes up. 0 = never.
  double ready_timeout_s = 300;
};

class HealthChecker {
 public:
  HealthChecker(Registry& registry, HealthCheckConfig config) : registry_(registry), config_(std::move(config)) {}
  // Spawns the check loop for a replica on `ex`; it runs until the loop stops.
  void watch(ReplicaId id, http::asio::any_io_executor ex);

 private:
  http::awaitable<void> run(ReplicaId id);
  Registry& registry_;
  HealthCheckConfig config_;
};

}  // namespace tidal::fleet
