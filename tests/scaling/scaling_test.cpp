#include <gtest/gtest.h>

#include "scaling/policy.h"

namespace tidal::scaling {
namespace {

Signals at(double t, int ready, double queue, double util = 0.5, double ttft = 0) {
  Signals s;
  s.now_s = t;
  s.ready = ready;
  s.queue_depth = queue;
  s.utilization = util;
  s.ttft_p95_ms = ttft;
  return s;
}

TEST(ThresholdPolicyTest, StepsUpOnQueueOrTtftAndRespectsCooldown) {
  ScalingConfig c;
  c.policy = "threshold";
  c.queue_high = 10;
  c.ttft_high_ms = 1000;
  c.cooldown_s = 300;
  auto p = std::move(*make_scaling_policy(c));
  EXPECT_EQ(p->recommend(at(0, 2, 50)).replicas, 3);
  EXPECT_EQ(p->recommend(at(100, 3, 50)).replicas, 3);  // cooldown
  EXPECT_EQ(p->recommend(at(400, 3, 0, 0.5, 5000)).replicas, 4);  // TTFT over threshold
  EXPECT_EQ(p->recommend(at(800, 4, 0, 0.1)).replicas, 3);  // idle: one down
  EXPECT_EQ(p->recommend(at(1200, 3, 0, 0.5)).replicas, 3);  // within thresholds
}

TEST(ThresholdPolicyTest, WaitsForStartingReplicasBeforeAnotherStep) {
  ScalingConfig c;
  c.policy = "threshold";
  c.cooldown_s = 0;
  auto p = std::move(*make_scaling_policy(c));
  Signals s = at(0, 1, 100);
  s.starting = 1;
  EXPECT_EQ(p->recommend(s).replicas, 2);  // 1 ready + 1 starting: no third yet
}

TEST(ScalingFactoryTest, StaticAndErrors) {
  ScalingConfig c;
  c.policy = "static";
  c.replicas = 7;
  EXPECT_EQ((*make_scaling_policy(c))->recommend({}).replicas, 7);
  c.policy = "magic";
  EXPECT_FALSE(make_scaling_policy(c));
}

}  // namespace
}  // namespace tidal::scaling
