#include "common/metrics/histogram.h"

#include <algorithm>
#include <limits>

namespace tidal::metrics {
namespace {

// Each thread's shard, fixed at its first observation (round robin over threads).
size_t my_shard(size_t shards) {
  static std::atomic<size_t> next{0};
  thread_local const size_t mine = next.fetch_add(1, std::memory_order_relaxed);
  return mine % shards;
}

}  // namespace

Histogram::Histogram(std::vector<double> bounds) : bounds_(std::move(bounds)) {
  for (auto& s : shards_) {
    s.counts = std::make_unique<std::atomic<uint64_t>[]>(bounds_.size() + 1);
    for (size_t i = 0; i <= bounds_.size(); ++i) s.counts[i].store(0, std::memory_order_relaxed);
  }
}

void Histogram::observe(double value) {
  // Bucket i holds bounds[i-1] < value <= bounds[i] (Prometheus' le); the last, +Inf.
  const auto bucket = static_cast<size_t>(std::lower_bound(bounds_.begin(), bounds_.end(), value) - bounds_.begin());
  Shard& s = shards_[my_shard(kShards)];
  s.counts[bucket].fetch_add(1, std::memory_order_relaxed);
  s.sum.fetch_add(value, std::memory_order_relaxed);
}

prometheus::ClientMetric::Histogram Histogram::collect() const {
  prometheus::ClientMetric::Histogram h;
  h.bucket.resize(bounds_.size() + 1);
  for (const auto& s : shards_) {
    for (size_t i = 0; i <= bounds_.size(); ++i) h.bucket[i].cumulative_count += s.counts[i].load(std::memory_order_relaxed);
    h.sample_sum += s.sum.load(std::memory_order_relaxed);
  }
  uint64_t running = 0;
  for (size_t i = 0; i <= bounds_.size(); ++i) {
    running += h.bucket[i].cumulative_count;
    h.bucket[i].cumulative_count = running;
    h.bucket[i].upper_bound = i < bounds_.size() ? bounds_[i] : std::numeric_limits<double>::infinity();
  }
  h.sample_count = running;
  return h;
}

Histogram& HistogramFamily::add(const std::map<std::string, std::string>& labels, const std::vector<double>& bounds) {
  std::lock_guard lock(mu_);
  auto& slot = members_[labels];
  if (!slot) slot = std::make_unique<Histogram>(bounds);
  return *slot;
}

void HistogramFamily::remove(const Histogram* h) {
  std::lock_guard lock(mu_);
  std::erase_if(members_, [h](const auto& kv) { return kv.second.get() == h; });
}

prometheus::MetricFamily HistogramFamily::collect() const {
  prometheus::MetricFamily f{name_, help_, prometheus::MetricType::Histogram, {}};
  std::lock_guard lock(mu_);
  f.metric.reserve(members_.size());
  for (const auto& [labels, h] : members_) {
    prometheus::ClientMetric m;
    for (const auto& [k, v] : labels) m.label.push_back({k, v});
    m.histogram = h->collect();
    f.metric.push_back(std::move(m));
  }
  return f;
}

}  // namespace tidal::metrics
