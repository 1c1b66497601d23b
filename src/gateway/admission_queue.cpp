#include "gateway/admission_queue.h"

#include <algorithm>

namespace tidal::gateway {
namespace {

using routing::ReplicaId;

bool excluded(std::span<const ReplicaId> exclude, ReplicaId id) {
  return std::find(exclude.begin(), exclude.end(), id) != exclude.end();
}

}  // namespace

std::optional<ReplicaId> AdmissionQueue::try_take(routing::RoutingPolicy& policy, const routing::RequestInfo& req,
                                                  std::span<const ReplicaId> exclude) {
  thread_local std::vector<routing::ReplicaView> views;
  // Only replicas that serve the requested model (as their /v1/models says).
  registry_.views(pool_, views, req.model.empty() ? 0 : fleet::model_bits(req.model));
  for (auto& v : views) {
    if (excluded(exclude, v.id)) v.routable = false;
  }
  const auto now = std::chrono::steady_clock::now();
  // Another loop may take the last slot between pick and acquire: mark it full, pick again.
  for (int attempt = 0; attempt < 4; ++attempt) {
    auto id = policy.pick(req, views, now);
    if (!id) return std::nullopt;
    if (registry_.try_acquire(*id)) return id;
    for (auto& v : views) {
      if (v.id == *id) v.routable = false;
    }
  }
  return std::nullopt;
}

bool AdmissionQueue::any_live(std::span<const ReplicaId> exclude) const {
  for (const fleet::Replica* r : *registry_.snapshot()) {
    if (r->pool != pool_ || excluded(exclude, r->id)) continue;
    const auto s = r->state.load();
    if (s == fleet::ReplicaState::kReady || s == fleet::ReplicaState::kStarting) return true;
  }
  return false;
}

void AdmissionQueue::wake_front_locked() {
  if (waiters_.empty()) return;
  auto w = waiters_.front();
  http::asio::post(w->timer.get_executor(), [w] { w->timer.cancel(); });
}

void AdmissionQueue::wake() {
  if (waiting_.load() == 0) return;
  std::lock_guard lock(mu_);
  wake_front_locked();
}

void AdmissionQueue::release(ReplicaId id) {
  registry_.release(id);
  wake();
}

http::awaitable<Result<ReplicaId>> AdmissionQueue::admit(routing::RoutingPolicy& policy,
                                                         const routing::RequestInfo& req,
                                                         std::span<const ReplicaId> exclude,
                                                         const WaitTicker* ticker) {
  if (waiting_.load() == 0) {
    if (auto id = try_take(policy, req, exclude)) co_return *id;
  }
  // At zero replicas a pool that scales from zero holds the request; a retry whose
  // replicas all failed does not wait.
  const bool hold_at_zero = poke_ && exclude.empty();
  if (!any_live(exclude)) {
    if (!hold_at_zero) {
      metrics_.rejected_no_replica->Increment();
      co_return make_error(ErrorKind::kUnavailable, "no ready replica in pool '" + pool_ + "'", "", "no_replica");
    }
    poke_();
  }
  if (waiting_.load() >= config_.max_queue) {
    metrics_.rejected_queue_full->Increment();
    co_return make_error(ErrorKind::kUnavailable, "the gateway queue of pool '" + pool_ + "' is full", "",
                         "queue_full");
  }

  auto ex = co_await http::asio::this_coro::executor;
  auto me = std::make_shared<Waiter>(ex);
  const auto enqueued = std::chrono::steady_clock::now();
  const auto deadline = enqueued + config_.timeout;
  {
    std::lock_guard lock(mu_);
    waiters_.push_back(me);
    ++waiting_;
    metrics_.queue_depth->Increment();
  }
  // Leaves the queue however admit() ends (slot taken, timeout, client gone).
  struct Leave {
    AdmissionQueue& q;
    std::shared_ptr<Waiter> me;
    ~Leave() {
      std::lock_guard lock(q.mu_);
      const bool was_front = !q.waiters_.empty() && q.waiters_.front() == me;
      q.waiters_.remove(me);
      --q.waiting_;
      q.metrics_.queue_depth->Decrement();
      if (was_front) q.wake_front_locked();
    }
  } leave{*this, me};

  auto cs = co_await http::asio::this_coro::cancellation_state;
  while (true) {
    bool front = false;
    {
      std::lock_guard lock(mu_);
      front = waiters_.front() == me;
    }
    if (front) {
      if (auto id = try_take(policy, req, exclude)) {
        metrics_.queue_wait->Observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - enqueued).count());
        co_return *id;
      }
      if (!any_live(exclude) && !hold_at_zero) {
        metrics_.rejected_no_replica->Increment();
        co_return make_error(ErrorKind::kUnavailable, "no ready replica in pool '" + pool_ + "'", "", "no_replica");
      }
    }
    // While nothing is live, wake up every tick interval (a wake missed during the
    // tick's own write is caught by the check at the top of the loop).
    const bool ticking = ticker && ticker->tick && !any_live(exclude);
    const auto next_tick = std::chrono::steady_clock::now() + (ticking ? ticker->interval : config_.timeout);
    const bool tick_first = ticking && next_tick < deadline;
    me->timer.expires_at(tick_first ? next_tick : deadline);
    auto [ec] = co_await me->timer.async_wait(http::use_tuple);
    if (!ec && tick_first) {
      if (cs.cancelled() != http::asio::cancellation_type::none || !co_await ticker->tick()) {
        co_return make_error(ErrorKind::kInternal, "client disconnected while queued", "", "cancelled");
      }
      continue;
    }
    if (!ec) {
      metrics_.rejected_queue_timeout->Increment();
      co_return make_error(ErrorKind::kUnavailable,
                           "timed out after " + std::to_string(config_.timeout.count()) +
                               " ms waiting for a free replica in pool '" + pool_ + "'",
                           "", "queue_timeout");
    }
    if (cs.cancelled() != http::asio::cancellation_type::none) {
      co_return make_error(ErrorKind::kInternal, "client disconnected while queued", "", "cancelled");
    }
  }
}

}  // namespace tidal::gateway
