#include "fleet/breaker.h"

#include <gtest/gtest.h>

namespace tidal::fleet {
namespace {

constexpr int64_t kSec = 1'000'000'000;

using Verdict = CircuitBreaker::Verdict;

TEST(CircuitBreakerTest, TripsOnConsecutiveFailuresAndCoolsDown) {
  BreakerConfig c{.consecutive_failures = 3, .failure_rate = 0, .cooldown_s = 5};
  CircuitBreaker b;
  EXPECT_EQ(b.record(true, 0, c), Verdict::kNone);
  EXPECT_EQ(b.record(true, 1, c), Verdict::kNone);
  EXPECT_EQ(b.record(false, 2, c), Verdict::kNone);  // a success breaks the streak
  EXPECT_EQ(b.record(true, 3, c), Verdict::kNone);
  EXPECT_EQ(b.record(true, 4, c), Verdict::kNone);
  std::string why;
  EXPECT_EQ(b.record(true, 5, c, &why), Verdict::kTrip);
  EXPECT_EQ(why, "3 consecutive failures");
  EXPECT_TRUE(b.allows(5));  // the caller decides whether to open
  EXPECT_DOUBLE_EQ(b.open(10, c), 5);
  EXPECT_EQ(b.state(10), BreakerState::kOpen);
  EXPECT_FALSE(b.allows(10 + 4 * kSec));
  EXPECT_EQ(b.state(10 + 5 * kSec), BreakerState::kHalfOpen);
  EXPECT_TRUE(b.allows(10 + 5 * kSec));
}

TEST(CircuitBreakerTest, HalfOpenLetsOneProbeAndItsResultDecides) {
  BreakerConfig c{.consecutive_failures = 1, .failure_rate = 0, .cooldown_s = 2, .max_cooldown_s = 5};
  CircuitBreaker b;
  ASSERT_EQ(b.record(true, 0, c), Verdict::kTrip);
  b.open(0, c);
  const int64_t t = 2 * kSec;
  b.on_dispatch(t);  // the probe
  EXPECT_FALSE(b.allows(t)) << "one probe at a time";
  // It fails: open again with a doubled cool-down (4 s).
  EXPECT_EQ(b.record(true, t + 1, c), Verdict::kReopened);
  EXPECT_FALSE(b.allows(t + 3 * kSec));
  EXPECT_TRUE(b.allows(t + 4 * kSec + 1));
  b.on_dispatch(t + 4 * kSec + 1);
  // A third trip in a row would be capped at max_cooldown_s; this probe succeeds and closes it.
  EXPECT_EQ(b.record(false, t + 4 * kSec + 2, c), Verdict::kClosed);
  EXPECT_EQ(b.state(t + 4 * kSec + 3), BreakerState::kClosed);
  EXPECT_TRUE(b.closed());
  EXPECT_EQ(b.trips(), 2u);
}

TEST(CircuitBreakerTest, TripsOnFailureRateOnlyWithEnoughRequests) {
  BreakerConfig c{.consecutive_failures = 0, .failure_rate = 0.5, .min_requests = 10, .window_s = 10};
  CircuitBreaker b;
  // Alternating: 50 % failures, never 2 in a row; trips once 10 requests are in the window.
  Verdict last = Verdict::kNone;
  int n = 0;
  for (; n < 20 && last != Verdict::kTrip; ++n) last = b.record(n % 2 == 1, n, c);
  EXPECT_EQ(last, Verdict::kTrip);
  EXPECT_EQ(n, 10);
  // A new window forgets old requests.
  CircuitBreaker fresh;
  for (int i = 0; i < 9; ++i) fresh.record(i % 2 == 1, 0, c);
  EXPECT_EQ(fresh.record(true, 11 * kSec, c), Verdict::kNone);
}

TEST(CircuitBreakerTest, ResultsOfRequestsSentBeforeItOpenedAreIgnored) {
  BreakerConfig c{.consecutive_failures = 1, .failure_rate = 0};
  CircuitBreaker b;
  b.record(true, 0, c);
  b.open(0, c);
  EXPECT_EQ(b.record(true, 1, c), Verdict::kNone);
  EXPECT_EQ(b.record(false, 2, c), Verdict::kNone);
  EXPECT_EQ(b.state(3), BreakerState::kOpen);
}

}  // namespace
}  // namespace tidal::fleet
