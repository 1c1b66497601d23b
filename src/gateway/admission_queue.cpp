#include "gateway/admission_queue.h"

#include <algorithm>

#include "admission/reserve.h"

namespace tidal::gateway {
namespace {

using routing::ReplicaId;
using SteadyClock = std::chrono::steady_clock;

// A waiter that cannot use a free slot passes its turn on at most this many times per
// capacity change: enough for retries and per-model filters, bounded under overload.
constexpr uint32_t kMaxPasses = 8;

bool excluded(std::span<const ReplicaId> exclude, ReplicaId id) {
  return std::find(exclude.begin(), exclude.end(), id) != exclude.end();
}

double seconds(SteadyClock::time_point t) { return std::chrono::duration<double>(t.time_since_epoch()).count(); }

Error refusal(DropReason r, std::string message) {
  const char* code = r == DropReason::kDeadline ? "queue_timeout" : name(r);
  return make_error(ErrorKind::kUnavailable, std::move(message), "", code);
}

}  // namespace

AdmissionQueue::AdmissionQueue(fleet::Registry& registry, std::string pool, admission::AdmissionConfig config,
                               uint32_t max_queue, PoolMetrics& metrics)
    : registry_(registry), pool_(std::move(pool)), config_(std::move(config)), metrics_(metrics),
      order_(config_, max_queue), reserved_(admission::any_reserved(config_)),
      held_(std::make_unique<std::atomic<int64_t>[]>(std::max<size_t>(1, config_.tiers.size()))) {}

int64_t AdmissionQueue::free_slots() const {
  int64_t free = 0;
  for (const fleet::Replica* r : *registry_.snapshot()) {
    if (r->pool != pool_ || r->state.load() != fleet::ReplicaState::kReady) continue;
    if (r->max_in_flight == 0) return admission::kUnlimitedSlots;
    free += static_cast<int64_t>(r->max_in_flight) - r->in_flight.load(std::memory_order_relaxed);
  }
  return free;
}

std::optional<ReplicaId> AdmissionQueue::try_take(routing::RoutingPolicy& policy, const routing::RequestInfo& req,
                                                  std::span<const ReplicaId> exclude, uint32_t tier) {
  if (reserved_) {
    // A snapshot of the tiers' holdings: concurrent takes may overshoot a reservation by
    // the requests admitted at the same instant on other loops.
    std::vector<int64_t> held(config_.tiers.size());
    for (size_t i = 0; i < held.size(); ++i) held[i] = held_[i].load(std::memory_order_relaxed);
    if (!admission::may_take_slot(config_, tier, free_slots(), held)) return std::nullopt;
  }
  thread_local std::vector<routing::ReplicaView> views;
  // Only replicas that serve the requested model (as their /v1/models says).
  registry_.views(pool_, views, req.model.empty() ? 0 : fleet::model_bits(req.model));
  for (auto& v : views) {
    if (excluded(exclude, v.id)) v.routable = false;
  }
  const auto now = SteadyClock::now();
  // Another loop may take the last slot between pick and acquire: mark it full, pick again.
  for (int attempt = 0; attempt < 4; ++attempt) {
    auto id = policy.pick(req, views, now);
    if (!id) return std::nullopt;
    if (registry_.try_acquire(*id)) {
      held_[tier].fetch_add(1, std::memory_order_relaxed);
      return id;
    }
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

bool AdmissionQueue::any_free_slot() const {
  for (const fleet::Replica* r : *registry_.snapshot()) {
    if (r->pool != pool_ || r->state.load() != fleet::ReplicaState::kReady) continue;
    if (r->max_in_flight == 0 || r->in_flight.load(std::memory_order_relaxed) < r->max_in_flight) return true;
  }
  return false;
}

std::optional<uint64_t> AdmissionQueue::best_untried_locked() const {
  return order_.best(seconds(SteadyClock::now()), [this](uint64_t id) { return waiters_.at(id)->tried_gen < gen_; });
}

void AdmissionQueue::wake_best_locked() {
  if (auto id = best_untried_locked()) {
    auto w = waiters_.at(*id);
    http::asio::post(w->timer.get_executor(), [w] { w->timer.cancel(); });
  }
}

void AdmissionQueue::wake() {
  if (waiting_.load() == 0) return;
  std::lock_guard lock(mu_);
  ++gen_;
  passes_ = 0;
  wake_best_locked();
}

std::optional<ReplicaId> AdmissionQueue::try_admit_now(routing::RoutingPolicy& policy, const routing::RequestInfo& req,
                                                      std::span<const ReplicaId> exclude, uint32_t tier) {
  if (waiting_.load() != 0) return std::nullopt;
  return try_take(policy, req, exclude, tier);
}

void AdmissionQueue::release(ReplicaId id, uint32_t tier) {
  held_[tier].fetch_sub(1, std::memory_order_relaxed);
  registry_.release(id);
  wake();
}

void AdmissionQueue::charge(const Applicant& who, double tokens) {
  std::lock_guard lock(mu_);
  order_.charge(who.tier, who.tenant, tokens);
}

double AdmissionQueue::oldest_wait_s() {
  if (waiting_.load() == 0) return 0;
  std::lock_guard lock(mu_);
  const auto oldest = order_.oldest_enqueued_s();
  return oldest ? std::max(0.0, seconds(SteadyClock::now()) - *oldest) : 0;
}

double AdmissionQueue::jain_index() {
  std::lock_guard lock(mu_);
  return order_.jain_index();
}

http::awaitable<Result<ReplicaId>> AdmissionQueue::admit(routing::RoutingPolicy& policy,
                                                         const routing::RequestInfo& req,
                                                         std::span<const ReplicaId> exclude, const Applicant& who,
                                                         const WaitTicker* ticker) {
  TierMetrics& tm = metrics_.tiers[who.tier];
  if (waiting_.load() == 0) {
    if (auto id = try_take(policy, req, exclude, who.tier)) co_return *id;
  }
  // At zero replicas a pool that scales from zero holds the request; a retry whose
  // replicas all failed does not wait.
  const bool hold_at_zero = poke_ && exclude.empty();
  auto no_replica = [&] {
    metrics_.reject(who.tier, DropReason::kNoReplica);
    return refusal(DropReason::kNoReplica, "no ready replica in pool '" + pool_ + "'");
  };
  if (!any_live(exclude)) {
    if (!hold_at_zero) co_return no_replica();
    poke_();
  }

  auto ex = co_await http::asio::this_coro::executor;
  auto me = std::make_shared<Waiter>(ex);
  const auto enqueued = SteadyClock::now();
  const double max_wait_s = config_.tiers[who.tier].max_queue_wait_s;
  const auto deadline = enqueued + std::chrono::duration_cast<SteadyClock::duration>(std::chrono::duration<double>(max_wait_s));
  uint64_t my_id = 0;
  {
    std::lock_guard lock(mu_);
    my_id = next_id_++;
    const double ttft_s = who.ttft_deadline == SteadyClock::time_point{} ? 0 : seconds(who.ttft_deadline);
    const auto pushed = order_.push({.id = my_id, .tier = who.tier, .tenant = who.tenant, .enqueued_s = seconds(enqueued),
                                     .ttft_deadline_s = ttft_s});
    if (pushed.evicted) {
      // A lower tier's newest waiter makes room; it answers 503 (shed) when it wakes.
      auto victim = waiters_.at(*pushed.evicted);
      victim->evicted = true;
      http::asio::post(victim->timer.get_executor(), [victim] { victim->timer.cancel(); });
    }
    if (pushed.refusal != admission::Refusal::kNone) {
      metrics_.reject(who.tier, DropReason::kQueueFull);
      co_return refusal(DropReason::kQueueFull, "the gateway queue of pool '" + pool_ + "' is full for tier '" +
                                                           config_.tiers[who.tier].name + "'");
    }
    waiters_.emplace(my_id, me);
    ++waiting_;
    tm.queue_depth->Increment();
  }
  // Leaves the queue however admit() ends (slot taken, deadline, evicted, client gone);
  // if capacity is left, the next best waiter gets its turn.
  struct Leave {
    AdmissionQueue& q;
    uint64_t id;
    TierMetrics& tm;
    ~Leave() {
      std::lock_guard lock(q.mu_);
      q.order_.remove(id);
      q.waiters_.erase(id);
      --q.waiting_;
      tm.queue_depth->Decrement();
      q.wake_best_locked();
    }
  } leave{*this, my_id, tm};

  auto cs = co_await http::asio::this_coro::cancellation_state;
  auto gone = [] { return make_error(ErrorKind::kInternal, "client disconnected while queued", "", "cancelled"); };
  while (true) {
    bool my_turn = false;
    uint64_t gen = 0;
    {
      std::lock_guard lock(mu_);
      if (me->evicted) {
        metrics_.reject(who.tier, DropReason::kShed);
        co_return refusal(DropReason::kShed,
                          "evicted from the full queue of pool '" + pool_ + "' by a higher-priority request");
      }
      gen = gen_;
      const auto best = best_untried_locked();
      my_turn = best == my_id;
      // Woken but no longer the best (a newcomer or aging reordered): hand the turn on.
      if (!my_turn && best && me->tried_gen < gen_) wake_best_locked();
    }
    if (my_turn) {
      if (auto id = try_take(policy, req, exclude, who.tier)) {
        tm.queue_wait->observe(std::chrono::duration<double>(SteadyClock::now() - enqueued).count());
        co_return *id;
      }
      if (!any_live(exclude) && !hold_at_zero) co_return no_replica();
      std::lock_guard lock(mu_);
      me->tried_gen = gen;
      // A slot is free that this waiter cannot use: the next best may.
      if (gen == gen_ && passes_ < kMaxPasses && any_free_slot()) {
        ++passes_;
        wake_best_locked();
      }
    }
    // While nothing is live, wake up every tick interval (a wake missed during the
    // tick's own write is caught by the check at the top of the loop).
    const bool ticking = ticker && ticker->tick && !any_live(exclude);
    const auto now = SteadyClock::now();
    const auto next_tick = now + (ticking ? ticker->interval : std::chrono::milliseconds(0));
    const bool tick_first = ticking && next_tick < deadline;
    me->timer.expires_at(tick_first ? next_tick : deadline);
    auto [ec] = co_await me->timer.async_wait(http::use_tuple);
    if (!ec && tick_first) {
      if (cs.cancelled() != http::asio::cancellation_type::none) co_return gone();
      const bool ticked = co_await ticker->tick();  // GCC 12: no co_await inside a condition
      if (!ticked) co_return gone();
      continue;
    }
    if (!ec) {
      metrics_.reject(who.tier, DropReason::kDeadline);
      co_return refusal(DropReason::kDeadline,
                        "timed out after " + std::to_string(static_cast<int64_t>(max_wait_s * 1000)) +
                            " ms waiting for a free replica in pool '" + pool_ + "' (tier '" +
                            config_.tiers[who.tier].name + "')");
    }
    if (cs.cancelled() != http::asio::cancellation_type::none) co_return gone();
  }
}

}  // namespace tidal::gateway
