// Load signals over a sliding window, computed the same way for the gateway (real
// clock) and the simulator (virtual clock): the data plane keeps monotonic counters
// (arrivals, tokens, a log-bucket latency histogram); each controller tick hands a
// snapshot to LoadWindow, which differences it against the snapshot one window ago.
#pragma once

#include <array>
#include <cstdint>
#include <deque>

#include "scaling/signals.h"

namespace tidal::scaling {

// Latencies in log-spaced buckets (10% wide, 1 ms .. ~3 min): cheap to keep as
// atomics on the hot path, subtractable for windows, quantiles within 10%.
class LatencyHistogram {
 public:
  static constexpr int kBuckets = 128;
  static constexpr double kGrowth = 1.1;

  [[nodiscard]] static int bucket_of(double ms);
  [[nodiscard]] static double upper_ms(int bucket);  // bucket's upper bound

  void add(double ms) { ++counts_[static_cast<size_t>(bucket_of(ms))]; }
  void add_bucket(int bucket, uint64_t n) { counts_[static_cast<size_t>(bucket)] += n; }
  [[nodiscard]] uint64_t total() const;
  // Interpolated within the bucket; 0 when empty.
  [[nodiscard]] double quantile(double q) const;
  [[nodiscard]] LatencyHistogram minus(const LatencyHistogram& earlier) const;

 private:
  std::array<uint64_t, kBuckets> counts_{};
};

// Monotonic totals since start (a snapshot of the data plane's counters).
struct LoadCounters {
  uint64_t arrivals = 0;
  uint64_t prompt_tokens = 0;
  uint64_t output_tokens = 0;
  LatencyHistogram ttft_ms, e2e_ms, tpot_ms;
};

class LoadWindow {
 public:
  // `concurrency_window_s`: the (shorter) window of the concurrency average, so a real
  // overload shows at the next tick while one-tick Poisson bursts are damped.
  explicit LoadWindow(double window_s, double concurrency_window_s = 0)
      : window_s_(window_s), concurrency_window_s_(concurrency_window_s > 0 ? concurrency_window_s : window_s) {}
  // Records `c` as of `now_s` and sets out's rps, tokens/s, TTFT/E2E p95, load_fresh
  // and concurrency_avg (of out.in_flight + out.queue_depth, which the caller set) over
  // the concurrency window, and idle_s (since arrivals grew).
  void observe(double now_s, const LoadCounters& c, Signals& out);

 private:
  double window_s_, concurrency_window_s_;
  std::deque<std::pair<double, LoadCounters>> snaps_;
  std::deque<std::pair<double, double>> concurrency_;  // (t, in flight + queued) per tick
  uint64_t last_arrivals_ = 0;
  double last_arrival_s_ = -1;  // tick at which arrivals last grew; < 0: none yet
};

}  // namespace tidal::scaling
