#include "fleet/breaker.h"

#include <algorithm>
#include <cmath>

namespace tidal::fleet {
namespace {

int64_t ns(double s) { return static_cast<int64_t>(s * 1e9); }

}  // namespace

const char* to_string(BreakerState s) {
  switch (s) {
    case BreakerState::kClosed: return "closed";
    case BreakerState::kOpen: return "open";
    case BreakerState::kHalfOpen: return "half_open";
  }
  return "closed";
}

BreakerState CircuitBreaker::state(int64_t now_ns) const {
  const int64_t until = open_until_ns_.load(std::memory_order_acquire);
  if (until == 0) return BreakerState::kClosed;
  return now_ns < until ? BreakerState::kOpen : BreakerState::kHalfOpen;
}

bool CircuitBreaker::allows(int64_t now_ns) const {
  switch (state(now_ns)) {
    case BreakerState::kClosed: return true;
    case BreakerState::kOpen: return false;
    case BreakerState::kHalfOpen: return !probing_.load(std::memory_order_acquire);
  }
  return true;
}

void CircuitBreaker::on_dispatch(int64_t now_ns) {
  if (state(now_ns) == BreakerState::kHalfOpen) probing_.store(true, std::memory_order_release);
}

double CircuitBreaker::cooldown_s(const BreakerConfig& c) const {
  return std::min(c.max_cooldown_s, c.cooldown_s * std::pow(2.0, std::max(1u, trips_in_a_row_) - 1.0));
}

void CircuitBreaker::reset_window(int64_t now_ns) {
  window_start_ns_ = now_ns;
  window_requests_ = window_failures_ = 0;
}

CircuitBreaker::Verdict CircuitBreaker::record(bool failure, int64_t now_ns, const BreakerConfig& c, std::string* why) {
  std::lock_guard lock(mu_);
  const BreakerState s = state(now_ns);
  if (s == BreakerState::kHalfOpen && probing_.load(std::memory_order_acquire)) {
    probing_.store(false, std::memory_order_release);
    if (!failure) {
      open_until_ns_.store(0, std::memory_order_release);
      streak_ = 0;
      trips_in_a_row_ = 0;
      reset_window(now_ns);
      return Verdict::kClosed;
    }
    ++trips_in_a_row_;
    ++trips_;
    open_until_ns_.store(now_ns + ns(cooldown_s(c)), std::memory_order_release);
    return Verdict::kReopened;
  }
  if (s != BreakerState::kClosed) return Verdict::kNone;  // a request sent before it opened
  if (now_ns - window_start_ns_ > ns(c.window_s)) reset_window(now_ns);
  ++window_requests_;
  window_failures_ += failure ? 1 : 0;
  streak_ = failure ? streak_ + 1 : 0;
  if (!failure) return Verdict::kNone;
  if (c.consecutive_failures > 0 && streak_ >= c.consecutive_failures) {
    if (why) *why = std::to_string(streak_) + " consecutive failures";
    return Verdict::kTrip;
  }
  if (c.failure_rate > 0 && window_requests_ >= c.min_requests &&
      window_failures_ >= c.failure_rate * static_cast<double>(window_requests_)) {
    if (why) *why = std::to_string(window_failures_) + " of " + std::to_string(window_requests_) + " requests failed";
    return Verdict::kTrip;
  }
  return Verdict::kNone;
}

double CircuitBreaker::open(int64_t now_ns, const BreakerConfig& c) {
  std::lock_guard lock(mu_);
  ++trips_in_a_row_;
  ++trips_;
  const double cool = cooldown_s(c);
  open_until_ns_.store(now_ns + ns(cool), std::memory_order_release);
  probing_.store(false, std::memory_order_release);
  streak_ = 0;
  reset_window(now_ns);
  return cool;
}

}  // namespace tidal::fleet
