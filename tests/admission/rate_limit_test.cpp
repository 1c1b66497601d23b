#include "admission/rate_limit.h"

#include <gtest/gtest.h>

namespace tidal::admission {
namespace {

TEST(TokenBucketTest, RefillsAtRateUpToCapacity) {
  TokenBucket b(60, 10, 0);  // 1 per second, 10 deep
  for (int i = 0; i < 10; ++i) EXPECT_TRUE(b.take(1, 0));
  EXPECT_FALSE(b.take(1, 0));
  EXPECT_DOUBLE_EQ(b.wait_s(1, 0), 1.0);
  EXPECT_TRUE(b.take(1, 1.0));
  EXPECT_DOUBLE_EQ(b.level(100), 10);  // capped
}

TEST(TokenBucketTest, OvershootLeavesDebt) {
  TokenBucket b(600, 100, 0);  // 10 per second
  b.adjust(-250, 0);           // charged 250 with 100 in the bucket
  EXPECT_DOUBLE_EQ(b.level(0), -150);
  EXPECT_FALSE(b.take(1, 10));    // -50 after 10 s
  EXPECT_TRUE(b.take(1, 15.1));
}

TEST(LocalLimiterTest, RequestsPerMinuteWithHeaders) {
  LocalLimiter lim;
  RateLimits l{.requests_per_min = 3};
  for (int i = 0; i < 3; ++i) {
    auto d = lim.reserve("k", l, 0, 0);
    EXPECT_TRUE(d.allowed);
    EXPECT_EQ(d.remaining_requests, 2 - i);
    EXPECT_EQ(d.limit_requests, 3);
  }
  auto d = lim.reserve("k", l, 0, 0);
  EXPECT_FALSE(d.allowed);
  EXPECT_STREQ(d.exceeded, "requests");
  EXPECT_DOUBLE_EQ(d.retry_after_s, 20);  // one request per 20 s
  EXPECT_DOUBLE_EQ(d.reset_requests_s, 60);
  EXPECT_TRUE(lim.reserve("k", l, 0, 20).allowed);
  EXPECT_TRUE(lim.reserve("other", l, 0, 0).allowed);  // keys are independent
}

TEST(LocalLimiterTest, TokensReservedThenReconciled) {
  LocalLimiter lim;
  RateLimits l{.tokens_per_min = 1000};
  // prompt 100 + max_tokens 500 reserved.
  ASSERT_TRUE(lim.reserve("k", l, 600, 0).allowed);
  auto d = lim.reserve("k", l, 600, 0);
  EXPECT_FALSE(d.allowed);
  EXPECT_STREQ(d.exceeded, "tokens");
  EXPECT_EQ(d.remaining_tokens, 400);
  // The first answer used 150 tokens: 450 come back.
  lim.reconcile("k", l, 600, 150, 0);
  EXPECT_TRUE(lim.reserve("k", l, 600, 0).allowed);
}

TEST(LocalLimiterTest, LongerAnswerThanReservedIsCharged) {
  LocalLimiter lim;
  RateLimits l{.tokens_per_min = 1000};
  ASSERT_TRUE(lim.reserve("k", l, 100, 0).allowed);
  lim.reconcile("k", l, 100, 1100, 0);  // no max_tokens: it used 1100
  auto d = lim.reserve("k", l, 10, 0);
  EXPECT_FALSE(d.allowed);
  // 900 left after the reservation, -100 after the overshoot: 110 tokens at 1000/60 per second.
  EXPECT_NEAR(d.retry_after_s, 6.6, 1e-9);
}

TEST(LocalLimiterTest, RequestLargerThanTheBucketPassesWhenFull) {
  LocalLimiter lim;
  RateLimits l{.tokens_per_min = 100};
  EXPECT_TRUE(lim.reserve("k", l, 5000, 0).allowed);
  EXPECT_FALSE(lim.reserve("k", l, 5000, 30).allowed);
}

TEST(RateLimitTest, ResetHeaderFormat) {
  EXPECT_EQ(reset_header(0), "0s");
  EXPECT_EQ(reset_header(0.25), "250ms");
  EXPECT_EQ(reset_header(1), "1s");
  EXPECT_EQ(reset_header(360), "6m0s");
  EXPECT_EQ(reset_header(3725), "1h2m5s");
}

}  // namespace
}  // namespace tidal::admission
