// The gateway's admission queue per pool. A request takes an in-flight slot on a
// routable replica under its concurrency limit; when none is free (or no replica is
// ready yet) it waits here until a slot frees, its tier's deadline passes (503 +
// Retry-After), a higher tier evicts it from a full queue, or its client leaves. Who
// goes next is admission::WaitQueue's pure order (tiers with aging, tenant fairness,
// FCFS / EDF) — the same code the simulator runs. Safe to use from every event loop.
//
// Waking: a freed slot wakes the best waiter; if it cannot use the free slot (its
// retry excludes that replica, its model is not served there) it passes the turn to
// the next best, so a stuck waiter never blocks the ones behind it.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <unordered_map>

#include "admission/wait_queue.h"
#include "common/error.h"
#include "fleet/registry.h"
#include "gateway/gateway_metrics.h"
#include "http/types.h"
#include "routing/policy.h"

namespace tidal::gateway {

// Called every `interval` while a request waits with no replica in its pool (scale
// from zero); false ends the wait as if the client had left. The gateway writes SSE
// keep-alive comments with it.
struct WaitTicker {
  std::chrono::milliseconds interval{5000};
  std::function<http::awaitable<bool>()> tick;
};

// Who is asking for a slot: its tier, its tenant (fairness key), its TTFT deadline.
struct Applicant {
  uint32_t tier = 0;
  uint64_t tenant = 0;
  std::chrono::steady_clock::time_point ttft_deadline{};  // EDF order; epoch = none
};

class AdmissionQueue {
 public:
  // `max_queue`: waiters of all tiers together (each tier has its own bound too).
  AdmissionQueue(fleet::Registry& registry, std::string pool, admission::AdmissionConfig config, uint32_t max_queue,
                 PoolMetrics& metrics);

  // A replica id whose in-flight slot the caller now holds (give it back with release()).
  // Replicas in `exclude` (already tried) are skipped. Errors (code): no_replica,
  // queue_full, shed (evicted by a higher tier), queue_timeout; kInternal "cancelled"
  // if the client left. `ticker` (optional) runs while the pool has no live replica.
  http::awaitable<Result<routing::ReplicaId>> admit(routing::RoutingPolicy& policy, const routing::RequestInfo& req,
                                                    std::span<const routing::ReplicaId> exclude, const Applicant& who,
                                                    const WaitTicker* ticker = nullptr);
  // A slot now, without waiting, and only when nobody waits (hedges never jump the queue).
  [[nodiscard]] std::optional<routing::ReplicaId> try_admit_now(routing::RoutingPolicy& policy,
                                                               const routing::RequestInfo& req,
                                                               std::span<const routing::ReplicaId> exclude,
                                                               uint32_t tier);
  // Gives back a slot taken for a request of `tier`.
  void release(routing::ReplicaId id, uint32_t tier);
  // Capacity may have appeared (a replica became ready): let the best waiter try.
  void wake();
  // Tokens served to a tenant (VTC fairness): reserved at dispatch, reconciled after.
  void charge(const Applicant& who, double tokens);
  // Scale from zero: with no replica at all, a request waits (up to its deadline)
  // instead of getting no_replica, and `poke` asks the controller for capacity now.
  // Set before serving.
  void wait_at_zero(std::function<void()> poke) { poke_ = std::move(poke); }

  [[nodiscard]] size_t depth() const { return waiting_.load(); }
  [[nodiscard]] double jain_index();
  // How long the longest waiter has waited; 0 when nobody waits.
  [[nodiscard]] double oldest_wait_s();
  [[nodiscard]] const std::string& pool() const { return pool_; }
  [[nodiscard]] const admission::AdmissionConfig& config() const { return config_; }

 private:
  struct Waiter {
    explicit Waiter(http::asio::any_io_executor ex) : timer(ex) {}
    http::asio::steady_timer timer;
    uint64_t tried_gen = 0;  // the capacity generation it last failed to use
    bool evicted = false;
  };
  // A slot for a request of `tier`, if routing finds one and no higher tier's
  // reservation (admission/reserve.h) keeps it.
  std::optional<routing::ReplicaId> try_take(routing::RoutingPolicy& policy, const routing::RequestInfo& req,
                                             std::span<const routing::ReplicaId> exclude, uint32_t tier);
  // Free slots of the pool's ready replicas; admission::kUnlimitedSlots if one has no limit.
  [[nodiscard]] int64_t free_slots() const;
  bool any_live(std::span<const routing::ReplicaId> exclude) const;
  bool any_free_slot() const;
  // Wakes the best waiter that has not failed since capacity last changed.
  void wake_best_locked();
  [[nodiscard]] std::optional<uint64_t> best_untried_locked() const;

  fleet::Registry& registry_;
  std::string pool_;
  admission::AdmissionConfig config_;
  PoolMetrics& metrics_;
  std::function<void()> poke_;
  std::mutex mu_;
  admission::WaitQueue order_;
  std::unordered_map<uint64_t, std::shared_ptr<Waiter>> waiters_;
  uint64_t next_id_ = 1;
  uint64_t gen_ = 1;        // bumped whenever capacity may have appeared
  uint32_t passes_ = 0;     // turns passed on in this generation (bounded)
  std::atomic<size_t> waiting_{0};
  const bool reserved_;                               // some tier reserves slots
  std::unique_ptr<std::atomic<int64_t>[]> held_;      // slots each tier holds
};

}  // namespace tidal::gateway
