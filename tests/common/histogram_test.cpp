// metrics::Histogram against prometheus-cpp's own histogram: the same observations
// render the same exposition text; and no observation is lost when threads observe at once.
#include <gtest/gtest.h>

#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <random>
#include <thread>
#include <vector>

#include "common/metrics/exposer.h"
#include "common/metrics/histogram.h"

namespace tidal::metrics {
namespace {

TEST(HistogramTest, RendersAsPrometheusCppsHistogramForTheSameObservations) {
  const std::vector<double> bounds = {0.001, 0.01, 0.1, 0.25, 1, 10};
  std::mt19937 rng(5);
  // Values on the bounds (a bucket's le includes its bound), between them and past the last.
  std::vector<double> values = {0.001, 0.01, 0.1, 0.25, 1, 10, 0, 11, 1e9};
  std::uniform_real_distribution<double> any(0, 12);
  for (int i = 0; i < 2000; ++i) values.push_back(i % 2 ? any(rng) : bounds[static_cast<size_t>(i) % bounds.size()]);

  prometheus::Registry reference;
  auto& family = prometheus::BuildHistogram().Name("x_seconds").Help("h").Register(reference);
  auto& theirs = family.Add({{"replica", "a"}}, bounds);
  HistogramFamily ours_family("x_seconds", "h");
  Histogram& ours = ours_family.add({{"replica", "a"}}, bounds);
  for (double v : values) {
    theirs.Observe(v);
    ours.observe(v);
  }
  const prometheus::Registry empty;
  EXPECT_EQ(serialize(empty, {&ours_family}), serialize(reference));
  // One more observation shows in both.
  ours.observe(0.05);
  theirs.Observe(0.05);
  EXPECT_EQ(serialize(empty, {&ours_family}), serialize(reference));
  // Removed: the family renders no series.
  ours_family.remove(&ours);
  EXPECT_TRUE(ours_family.collect().metric.empty());
}

TEST(HistogramTest, ObservationsFromManyThreadsAreAllCounted) {
  Histogram h({1, 2, 3});
  constexpr int kThreads = 6, kEach = 50000;  // more threads than shards: some share one
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&h, t] {
      for (int i = 0; i < kEach; ++i) h.observe(static_cast<double>((i + t) % 4) + 0.5);
    });
  }
  for (auto& t : threads) t.join();
  const auto c = h.collect();
  EXPECT_EQ(c.sample_count, static_cast<uint64_t>(kThreads) * kEach);
  ASSERT_EQ(c.bucket.size(), 4u);
  for (size_t b = 0; b < 4; ++b) EXPECT_EQ(c.bucket[b].cumulative_count, (b + 1) * kThreads * kEach / 4) << b;
  EXPECT_DOUBLE_EQ(c.sample_sum, kThreads * kEach * 2.0);  // mean of 0.5, 1.5, 2.5, 3.5
}

}  // namespace
}  // namespace tidal::metrics
