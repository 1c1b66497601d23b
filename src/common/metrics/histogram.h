// A Prometheus histogram whose observations take no lock, for the request path.
//
// prometheus::Histogram::Observe locks a mutex for each observation (its buckets, sum
// and count change together); the gateway observed two per request. Here each
// observing thread adds to one of a few shards with relaxed atomic adds (threads are
// spread over the shards, so the event loops do not share cache lines), and a scrape
// sums the shards. Between two adds of one observation a scrape may see its bucket
// without its sum; the count is always the sum of the buckets.
//
//   metrics::HistogramFamily ttft("tidal_ttft_seconds", "Time to first token.");
//   metrics::Histogram& h = ttft.add({{"replica", "r1"}}, {0.01, 0.1, 1});
//   h.observe(0.042);
//   std::string text = metrics::serialize(registry, {&ttft});
#pragma once

#include <prometheus/client_metric.h>
#include <prometheus/metric_family.h>

#include <array>
#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace tidal::metrics {

class Histogram {
 public:
  // `bounds`: the buckets' upper bounds, ascending (a +Inf bucket is implied).
  explicit Histogram(std::vector<double> bounds);
  void observe(double value);
  // Cumulative buckets, sum and count, as prometheus-cpp's own.
  [[nodiscard]] prometheus::ClientMetric::Histogram collect() const;

 private:
  static constexpr size_t kShards = 4;
  struct alignas(64) Shard {
    std::unique_ptr<std::atomic<uint64_t>[]> counts;  // bounds + 1 buckets, not cumulative
    std::atomic<double> sum{0};
  };
  std::vector<double> bounds_;
  std::array<Shard, kShards> shards_;
};

// Histograms of one name with different labels; adding and removing take a lock,
// observing does not.
class HistogramFamily {
 public:
  HistogramFamily(std::string name, std::string help) : name_(std::move(name)), help_(std::move(help)) {}
  // The histogram with these labels (a new one, or the existing one of the same labels).
  Histogram& add(const std::map<std::string, std::string>& labels, const std::vector<double>& bounds);
  // REQUIRES: nothing observes `h` any more.
  void remove(const Histogram* h);
  [[nodiscard]] prometheus::MetricFamily collect() const;

 private:
  std::string name_, help_;
  mutable std::mutex mu_;
  std::map<std::map<std::string, std::string>, std::unique_ptr<Histogram>> members_;
};

}  // namespace tidal::metrics
