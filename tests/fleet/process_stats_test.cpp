#include "fleet/process_stats.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cmath>

namespace tidal::fleet {
namespace {

double busy(std::chrono::milliseconds d) {
  const auto end = std::chrono::steady_clock::now() + d;
  volatile double x = 1;
  while (std::chrono::steady_clock::now() < end) x = std::sqrt(x + 1);
  return x;
}

TEST(ProcessStatsTest, ReadsCpuAndMemoryOfALiveProcessAndNothingOfAGoneOne) {
  auto s = read_process(::getpid());
  ASSERT_TRUE(s);
  EXPECT_GT(s->rss_bytes, 1 << 20);
  EXPECT_GE(s->cpu_seconds, 0);
  EXPECT_FALSE(read_process(999'999'999));
}

TEST(ProcessStatsTest, CpuPercentIsTheShareOfACoreSinceTheLastReading) {
  ProcessCpu cpu;
  const auto t0 = std::chrono::steady_clock::now();
  auto secs = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(); };
  EXPECT_FALSE(cpu.percent(::getpid(), secs())) << "a rate needs two readings";
  (void)busy(std::chrono::milliseconds(300));
  auto p = cpu.percent(::getpid(), secs());
  ASSERT_TRUE(p);
  EXPECT_GT(*p, 20) << "a busy loop uses a good share of a core";
  EXPECT_LT(*p, 250);
}

}  // namespace
}  // namespace tidal::fleet
