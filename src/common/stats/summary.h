// Exact summaries of a sample set (bench reports, simulator reports): percentiles by
// selection (nth_element; the samples are reordered), mean, count. Not for hot paths; the gateway uses Prometheus histograms.
#pragma once

#include <cstddef>
#include <vector>

namespace tidal::stats {

struct Percentiles {
  double p50 = 0, p90 = 0, p95 = 0, p99 = 0, mean = 0, min = 0, max = 0;
  size_t count = 0;
};

class Samples {
 public:
  void add(double v) { values_.push_back(v); sorted_ = false; }
  void clear() { values_.clear(); sorted_ = true; }  // keeps the capacity
  void reserve(size_t n) { values_.reserve(n); }
  [[nodiscard]] size_t size() const { return values_.size(); }
  [[nodiscard]] bool empty() const { return values_.empty(); }
  // Linear interpolation between closest ranks; q in [0, 1]. 0 when empty. Reorders
  // the samples (a selection, not a sort).
  [[nodiscard]] double quantile(double q);
  [[nodiscard]] double mean() const;
  [[nodiscard]] Percentiles summary();

 private:
  std::vector<double> values_;
  bool sorted_ = true;
};

// Exponentially weighted moving average; the first sample initialises it.
class Ewma {
 public:
  explicit Ewma(double alpha) : alpha_(alpha) {}
  void add(double v) { value_ = seeded_ ? alpha_ * v + (1 - alpha_) * value_ : v; seeded_ = true; }
  [[nodiscard]] double value() const { return value_; }
  [[nodiscard]] bool seeded() const { return seeded_; }

 private:
  double alpha_;
  double value_ = 0;
  bool seeded_ = false;
};

}  // namespace tidal::stats
