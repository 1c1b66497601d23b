#include <gtest/gtest.h>

#include "common/clock.h"
#include "common/distribution.h"
#include "common/stats/summary.h"
#include "common/tokens.h"

namespace tidal {
namespace {

TEST(SamplesTest, PercentilesInterpolateBetweenRanks) {
  stats::Samples s;
  for (int i = 1; i <= 101; ++i) s.add(i);
  auto p = s.summary();
  EXPECT_DOUBLE_EQ(p.p50, 51);
  EXPECT_DOUBLE_EQ(p.p90, 91);
  EXPECT_DOUBLE_EQ(p.p99, 100);
  EXPECT_DOUBLE_EQ(p.mean, 51);
  EXPECT_EQ(p.count, 101u);
  stats::Samples two;
  two.add(10);
  two.add(20);
  EXPECT_DOUBLE_EQ(two.quantile(0.5), 15);
  stats::Samples empty;
  EXPECT_EQ(empty.summary().p99, 0);
}

TEST(EwmaTest, FirstSampleSeedsThenSmooths) {
  stats::Ewma e(0.5);
  e.add(10);
  EXPECT_DOUBLE_EQ(e.value(), 10);
  e.add(20);
  EXPECT_DOUBLE_EQ(e.value(), 15);
}

TEST(DistributionTest, ParsesEveryForm) {
  Rng rng(1);
  EXPECT_EQ(Distribution::parse("128")->sample_count(rng), 128u);
  EXPECT_EQ(Distribution::parse("fixed:7")->sample_count(rng), 7u);
  auto u = Distribution::parse("uniform:10:20");
  ASSERT_TRUE(u);
  for (int i = 0; i < 200; ++i) {
    const auto v = u->sample_count(rng);
    EXPECT_GE(v, 10u);
    EXPECT_LE(v, 20u);
  }
  auto ln = Distribution::parse("lognormal:200:1");
  ASSERT_TRUE(ln);
  double sum = 0;
  for (int i = 0; i < 20000; ++i) sum += ln->sample_count(rng);
  EXPECT_NEAR(sum / 20000, 200, 12);
  auto ex = Distribution::parse("exp:50");
  ASSERT_TRUE(ex);
  EXPECT_DOUBLE_EQ(ex->mean(), 50);
}

TEST(DistributionTest, RejectsBadSpecsWithAReason) {
  for (const char* bad : {"", "abc", "uniform:5", "uniform:9:1", "exp:0", "lognormal:1", "fixed:-3", "weird:1"}) {
    auto d = Distribution::parse(bad);
    ASSERT_FALSE(d) << bad;
    EXPECT_NE(d.error().message.find("bad distribution"), std::string::npos);
  }
}

TEST(TokensTest, EstimatesFourBytesPerToken) {
  EXPECT_EQ(estimate_tokens(""), 0u);
  EXPECT_EQ(estimate_tokens("abc"), 1u);
  EXPECT_EQ(estimate_tokens("abcd"), 1u);
  EXPECT_EQ(estimate_tokens("abcde"), 2u);
}

TEST(TokensTest, EqualPrefixesGiveEqualLeadingHashes) {
  const std::string shared(128, 's');  // two full blocks
  const auto a = prefix_block_hashes(shared + std::string(64, 'a'));
  const auto b = prefix_block_hashes(shared + std::string(64, 'b'));
  ASSERT_EQ(a.size(), 3u);
  ASSERT_EQ(b.size(), 3u);
  EXPECT_EQ(a[0], b[0]);
  EXPECT_EQ(a[1], b[1]);
  EXPECT_NE(a[2], b[2]);
  EXPECT_TRUE(prefix_block_hashes(std::string(63, 'x')).empty());
  // Chained: the same block after a different prefix hashes differently.
  const auto c = prefix_block_hashes(std::string(64, 'q') + std::string(64, 's'));
  EXPECT_NE(c[1], a[0]);
}

TEST(ManualClockTest, MovesOnlyWhenTold) {
  ManualClock c;
  const auto t0 = c.now();
  EXPECT_EQ(c.now(), t0);
  c.advance(from_ms(5));
  EXPECT_DOUBLE_EQ(to_ms(c.now() - t0), 5.0);
}

}  // namespace
}  // namespace tidal
