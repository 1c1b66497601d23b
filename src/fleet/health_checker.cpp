#include "fleet/health_checker.h"

#include "common/log.h"
#include "fleet/detail/replica_loop.h"
#include "http/client.h"

namespace tidal::fleet {

void HealthChecker::watch(ReplicaId id, http::asio::any_io_executor ex) {
  detail::spawn_replica_loop(ex, run(id), "health checker");
}

http::awaitable<void> HealthChecker::run(ReplicaId id) {
  auto ex = co_await http::asio::this_coro::executor;
  http::ConnectionPool pool(ex, http::PoolOptions{.max_idle_per_endpoint = 1});
  http::asio::steady_timer timer(ex);
  uint32_t ok_streak = 0, fail_streak = 0;
  Replica& r = registry_.at(id);
  const auto added = std::chrono::steady_clock::now();
  while (r.state.load() != ReplicaState::kGone) {
    http::Request req{http::bhttp::verb::get, config_.path, 11};
    req.set(http::bhttp::field::host, r.url.authority());
    req.set(http::bhttp::field::user_agent, "tidal-health");
    auto [ec, res] = co_await http::fetch(pool, r.endpoint, std::move(req), config_.timeout);
    const bool healthy = !ec && res.status == 200;
    if (healthy) {
      fail_streak = 0;
      ++ok_streak;
      const auto s = r.state.load();
      if ((s == ReplicaState::kStarting || s == ReplicaState::kEjected) && ok_streak >= config_.healthy_threshold) {
        registry_.set_state(id, ReplicaState::kReady, "health check passed");
      }
    } else {
      ok_streak = 0;
      ++fail_streak;
      if (r.state.load() == ReplicaState::kReady && fail_streak >= config_.unhealthy_threshold) {
        registry_.set_state(id, ReplicaState::kEjected,
                            ec ? "health check failed: " + ec.message() : "health status " + std::to_string(res.status));
      } else if (r.state.load() == ReplicaState::kStarting && config_.ready_timeout_s > 0 &&
                 std::chrono::steady_clock::now() - added >=
                     std::chrono::duration<double>(config_.ready_timeout_s)) {
        registry_.set_state(id, ReplicaState::kEjected, "not ready within health.ready_timeout_s");
      }
    }
    timer.expires_after(config_.interval);
    co_await timer.async_wait(http::use_tuple);
  }
}

}  // namespace tidal::fleet
