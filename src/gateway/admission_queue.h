// A bounded FIFO admission queue per pool. A request takes an in-flight slot on a
// routable replica under its concurrency limit; when every replica is full (or none
// is ready yet) it waits here, in arrival order, until a slot frees, its deadline
// passes (503 + Retry-After) or its client leaves. Safe to use from every event loop.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <span>
#include <string>

#include "common/error.h"
#include "fleet/registry.h"
#include "gateway/gateway_metrics.h"
#include "http/types.h"
#include "routing/policy.h"

namespace tidal::gateway {

struct QueueConfig {
  uint32_t max_queue = 10'000;                 // waiting requests; more are refused
  std::chrono::milliseconds timeout{30'000};   // longest wait for a slot
};

// Called every `interval` while a request waits with no replica in its pool (scale
// from zero); false ends the wait as if the client had left. The gateway writes SSE
// keep-alive comments with it.
struct WaitTicker {
  std::chrono::milliseconds interval{5000};
  std::function<http::awaitable<bool>()> tick;
};

class AdmissionQueue {
 public:
  AdmissionQueue(fleet::Registry& registry, std::string pool, QueueConfig config, PoolMetrics& metrics)
      : registry_(registry), pool_(std::move(pool)), config_(config), metrics_(metrics) {}

  // A replica id whose in-flight slot the caller now holds (give it back with release()).
  // Replicas in `exclude` (already tried) are skipped. Errors: kUnavailable with code
  // no_replica, queue_full or queue_timeout; kInternal "cancelled" if the client left.
  // `ticker` (optional) runs while the pool has no live replica.
  http::awaitable<Result<routing::ReplicaId>> admit(routing::RoutingPolicy& policy, const routing::RequestInfo& req,
                                                    std::span<const routing::ReplicaId> exclude,
                                                    const WaitTicker* ticker = nullptr);
  void release(routing::ReplicaId id);
  // Capacity may have appeared (a replica became ready): let the first waiter try.
  void wake();
  // Scale from zero: with no replica at all, a request waits (up to its deadline)
  // instead of getting no_replica, and `poke` asks the controller for capacity now.
  // Set before serving.
  void wait_at_zero(std::function<void()> poke) { poke_ = std::move(poke); }

  [[nodiscard]] size_t depth() const { return waiting_.load(); }
  [[nodiscard]] const std::string& pool() const { return pool_; }

 private:
  struct Waiter {
    explicit Waiter(http::asio::any_io_executor ex) : timer(ex) {}
    http::asio::steady_timer timer;
  };
  std::optional<routing::ReplicaId> try_take(routing::RoutingPolicy& policy, const routing::RequestInfo& req,
                                             std::span<const routing::ReplicaId> exclude);
  bool any_live(std::span<const routing::ReplicaId> exclude) const;
  void wake_front_locked();

  fleet::Registry& registry_;
  std::string pool_;
  QueueConfig config_;
  PoolMetrics& metrics_;
  std::function<void()> poke_;
  std::mutex mu_;
  std::list<std::shared_ptr<Waiter>> waiters_;
  std::atomic<size_t> waiting_{0};
};

}  // namespace tidal::gateway
