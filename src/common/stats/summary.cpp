#include "common/stats/summary.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace tidal::stats {

namespace {

// The value at rank q (linear interpolation between closest ranks) of v[from, end),
// which holds the largest elements of v; nth_element leaves v[lo] in its sorted place
// and everything after it no smaller, so later (higher) ranks select from there on.
double select(std::vector<double>& v, double q, size_t& from) {
  const double rank = q * static_cast<double>(v.size() - 1);
  const auto lo = std::max(from, static_cast<size_t>(std::floor(rank)));
  const auto hi = std::min(lo + 1, v.size() - 1);
  std::nth_element(v.begin() + static_cast<std::ptrdiff_t>(from), v.begin() + static_cast<std::ptrdiff_t>(lo), v.end());
  from = lo;
  const double a = v[lo];
  const double b = hi == lo ? a : *std::min_element(v.begin() + static_cast<std::ptrdiff_t>(hi), v.end());
  return a + (b - a) * (rank - static_cast<double>(lo));
}

}  // namespace

double Samples::quantile(double q) {
  if (values_.empty()) return 0.0;
  q = std::clamp(q, 0.0, 1.0);
  if (!sorted_) {
    size_t from = 0;
    return select(values_, q, from);  // O(n), no sort
  }
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
  p.mean = mean();
  if (sorted_) {
    p.p50 = quantile(0.50);
    p.p90 = quantile(0.90);
    p.p95 = quantile(0.95);
    p.p99 = quantile(0.99);
    p.min = values_.front();
    p.max = values_.back();
    return p;
  }
  // Selection in increasing rank order: O(n) per percentile instead of a sort.
  p.min = *std::min_element(values_.begin(), values_.end());
  p.max = *std::max_element(values_.begin(), values_.end());
  size_t from = 0;
  p.p50 = select(values_, 0.50, from);
  p.p90 = select(values_, 0.90, from);
  p.p95 = select(values_, 0.95, from);
  p.p99 = select(values_, 0.99, from);
  return p;
}

}  // namespace tidal::stats
