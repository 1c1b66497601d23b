#include "scaling/load_window.h"

#include <algorithm>
#include <cmath>

namespace tidal::scaling {

int LatencyHistogram::bucket_of(double ms) {
  if (!(ms > 1.0)) return 0;
  const int b = static_cast<int>(std::ceil(std::log(ms) / std::log(kGrowth)));
  return std::clamp(b, 0, kBuckets - 1);
}

double LatencyHistogram::upper_ms(int bucket) { return std::pow(kGrowth, bucket); }

uint64_t LatencyHistogram::total() const {
  uint64_t n = 0;
  for (uint64_t c : counts_) n += c;
  return n;
}

double LatencyHistogram::quantile(double q) const {
  const uint64_t n = total();
  if (n == 0) return 0;
  const double rank = q * static_cast<double>(n);
  double seen = 0;
  for (int b = 0; b < kBuckets; ++b) {
    const double c = static_cast<double>(counts_[static_cast<size_t>(b)]);
    if (c > 0 && seen + c >= rank) {
      const double lo = b == 0 ? 0.0 : upper_ms(b - 1), hi = upper_ms(b);
      return lo + (hi - lo) * std::clamp((rank - seen) / c, 0.0, 1.0);
    }
    seen += c;
  }
  return upper_ms(kBuckets - 1);
}

LatencyHistogram LatencyHistogram::minus(const LatencyHistogram& earlier) const {
  LatencyHistogram d;
  for (size_t b = 0; b < counts_.size(); ++b) {
    d.counts_[b] = counts_[b] >= earlier.counts_[b] ? counts_[b] - earlier.counts_[b] : 0;
  }
  return d;
}

void LoadWindow::observe(double now_s, const LoadCounters& c, Signals& out) {
  concurrency_.push_back({now_s, out.in_flight + out.queue_depth});
  while (concurrency_.front().first <= now_s - concurrency_window_s_) concurrency_.pop_front();
  double sum = 0;
  for (const auto& [t, v] : concurrency_) sum += v;
  out.concurrency_avg = sum / static_cast<double>(concurrency_.size());
  if (last_arrival_s_ < 0) last_arrival_s_ = now_s;  // the first observation starts the clock
  if (c.arrivals != last_arrivals_ || out.in_flight + out.queue_depth > 0) last_arrival_s_ = now_s;
  last_arrivals_ = c.arrivals;
  out.idle_s = now_s - last_arrival_s_;
  snaps_.push_back({now_s, c});
  // Keep the newest snapshot at or before the window's start as the base.
  while (snaps_.size() > 2 && snaps_[1].first <= now_s - window_s_) snaps_.pop_front();
  const auto& [t0, base] = snaps_.front();
  const double span = now_s - t0;
  out.load_fresh = span >= window_s_ * 0.999;
  if (span <= 0) {
    out.rps = out.prompt_tokens_per_s = out.output_tokens_per_s = 0;
    out.ttft_p95_ms = out.e2e_p95_ms = out.tpot_p95_ms = 0;
    return;
  }
  out.rps = static_cast<double>(c.arrivals - base.arrivals) / span;
  out.prompt_tokens_per_s = static_cast<double>(c.prompt_tokens - base.prompt_tokens) / span;
  out.output_tokens_per_s = static_cast<double>(c.output_tokens - base.output_tokens) / span;
  out.ttft_p95_ms = c.ttft_ms.minus(base.ttft_ms).quantile(0.95);
  out.e2e_p95_ms = c.e2e_ms.minus(base.e2e_ms).quantile(0.95);
  out.tpot_p95_ms = c.tpot_ms.minus(base.tpot_ms).quantile(0.95);
}

}  // namespace tidal::scaling
