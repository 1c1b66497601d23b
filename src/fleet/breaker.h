// A circuit breaker per replica: passive outlier detection from the requests the
// gateway sends. Closed → open after `consecutive_failures` failures in a row or a
// failure rate over `failure_rate` (with at least `min_requests` in the window); open
// sends nothing for a cool-down that doubles with each trip in a row (up to
// `max_cooldown_s`); then half-open lets a probe request through: success closes it,
// failure opens it again. Failures are 5xx answers, connect errors, resets, timeouts
// and broken streams; 4xx and client cancels are not the replica's fault.
// Pure: time comes in as steady-clock nanoseconds. Thread-safe.
#pragma once

#include <atomic>
#include <chrono>
#include <type_traits>
#include <cstdint>
#include <mutex>
#include <string>

namespace tidal::fleet {

struct BreakerConfig {
  uint32_t consecutive_failures = 5;  // 0 = never on a streak
  double failure_rate = 0.5;          // 0..1 over window_s; 0 = never on the rate
  uint32_t min_requests = 20;         // requests in the window before the rate counts
  double window_s = 10;
  double cooldown_s = 5;              // first ejection; REQUIRES > 0
  double max_cooldown_s = 60;
  double max_ejected_pct = 50;        // the gateway never opens more than this share of a pool's ready replicas

  [[nodiscard]] bool enabled() const { return consecutive_failures > 0 || failure_rate > 0; }
};

// Times are steady_clock counts, which are nanoseconds here.
static_assert(std::is_same_v<std::chrono::steady_clock::period, std::nano>);

enum class BreakerState : uint8_t { kClosed, kOpen, kHalfOpen };
[[nodiscard]] const char* to_string(BreakerState s);

class CircuitBreaker {
 public:
  // Hot path, lock-free: may a new request go to this replica now?
  [[nodiscard]] bool allows(int64_t now_ns) const;
  // Closed (the common case), without reading a clock.
  [[nodiscard]] bool closed() const { return open_until_ns_.load(std::memory_order_relaxed) == 0; }
  // A request was sent; in half-open it is the probe (no other goes until it ends).
  void on_dispatch(int64_t now_ns);

  // What a finished request means for the breaker.
  enum class Verdict { kNone, kTrip, kClosed, kReopened };
  // Records a result; kTrip asks the caller to open() it (the caller may refuse, e.g.
  // too many of the pool are open), kClosed / kReopened report a probe's outcome
  // (applied already). `why` describes a trip.
  Verdict record(bool failure, int64_t now_ns, const BreakerConfig& c, std::string* why = nullptr);
  // Opens for the current cool-down; returns it in seconds.
  double open(int64_t now_ns, const BreakerConfig& c);

  [[nodiscard]] BreakerState state(int64_t now_ns) const;
  [[nodiscard]] uint64_t trips() const { return trips_.load(std::memory_order_relaxed); }

 private:
  void reset_window(int64_t now_ns);
  // The cool-down of the current trip: doubles with each trip in a row.
  [[nodiscard]] double cooldown_s(const BreakerConfig& c) const;

  std::atomic<int64_t> open_until_ns_{0};  // 0: closed
  std::atomic<bool> probing_{false};       // a half-open probe is in flight
  std::atomic<uint64_t> trips_{0};
  std::mutex mu_;                          // the counters below
  uint32_t streak_ = 0;                    // consecutive failures
  uint32_t window_requests_ = 0, window_failures_ = 0;
  int64_t window_start_ns_ = 0;
  uint32_t trips_in_a_row_ = 0;
};

}  // namespace tidal::fleet
