#include "common/stats/summary.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace tidal::stats {

double Samples::quantile(double q) {
  if (values_.empty()) return 0.0;
  if (!sorted_) {
    std::sort(values_.begin(), values_.end());
    sorted_ = true;
  }
  q = std::clamp(q, 0.0, 1.0);
  const double rank = q * static_cast<double>(values_.size() - 1);
  const auto lo = static_cast<size_t>(std::floor(rank));
  const auto hi = std::min(lo + 1, values_.size() - 1);
  const double frac = rank - static_cast<double>(lo);
  return values_[lo] + (values_[hi] - values_[lo]) * frac;
}

double Samples::mean() const {
  if (values_.empty()) return 0.0;
  return std::accumulate(values_.begin(), values_.end(), 0.0) / static_cast<double>(values_.size());
}

Percentiles Samples::summary() {
  Percentiles p;
  p.count = values_.size();
  if (values_.empty()) return p;
  p.p50 = quantile(0.50);
  p.p90 = quantile(0.90);
  p.p95 = quantile(0.95);
  p.p99 = quantile(0.99);
  p.min = quantile(0.0);
  p.max = quantile(1.0);
  p.mean = mean();
  return p;
}

}  // namespace tidal::stats
