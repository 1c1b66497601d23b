#include "routing/least_outstanding.h"

#include <gtest/gtest.h>

#include <map>

namespace tidal::routing {
namespace {

ReplicaView view(ReplicaId id, uint32_t in_flight, bool routable = true, uint32_t max = 0, uint32_t waiting = 0) {
  ReplicaView v;
  v.id = id;
  v.in_flight = in_flight;
  v.routable = routable;
  v.max_in_flight = max;
  v.engine_waiting = waiting;
  return v;
}

TEST(LeastOutstandingTest, PicksTheLeastLoadedWhenChoicesCoverAll) {
  LeastOutstanding p(2, 1);
  std::vector<ReplicaView> r = {view(0, 5), view(1, 2)};
  EXPECT_EQ(p.pick({}, r, {}), 1u);
}

TEST(LeastOutstandingTest, BreaksTiesOnEngineQueue) {
  LeastOutstanding p(2, 1);
  std::vector<ReplicaView> r = {view(0, 2, true, 0, 9), view(1, 2, true, 0, 1)};
  EXPECT_EQ(p.pick({}, r, {}), 1u);
}

TEST(LeastOutstandingTest, SkipsUnroutableAndFullReplicas) {
  LeastOutstanding p(2, 1);
  std::vector<ReplicaView> r = {view(0, 0, false), view(1, 4, true, 4), view(2, 9)};
  EXPECT_EQ(p.pick({}, r, {}), 2u);
  std::vector<ReplicaView> none = {view(0, 0, false), view(1, 4, true, 4)};
  EXPECT_EQ(p.pick({}, none, {}), std::nullopt);
  EXPECT_EQ(p.pick({}, {}, {}), std::nullopt);
}

TEST(LeastOutstandingTest, NeverPicksTheMostLoadedOfMany) {
  // With d = 2 the single most loaded replica can never win a comparison.
  LeastOutstanding p(2, 7);
  std::vector<ReplicaView> r;
  for (ReplicaId i = 0; i < 8; ++i) r.push_back(view(i, i == 3 ? 100 : i));
  for (int n = 0; n < 2000; ++n) EXPECT_NE(p.pick({}, r, {}), 3u);
}

TEST(LeastOutstandingTest, SpreadsEquallyLoadedReplicasEvenly) {
  LeastOutstanding p(2, 42);
  std::vector<ReplicaView> r;
  for (ReplicaId i = 0; i < 4; ++i) r.push_back(view(i, 0));
  std::map<ReplicaId, int> hits;
  for (int n = 0; n < 8000; ++n) ++hits[*p.pick({}, r, {})];
  for (ReplicaId i = 0; i < 4; ++i) EXPECT_NEAR(hits[i], 2000, 300) << "replica " << i;
}

TEST(LeastOutstandingTest, TiesBetweenTwoReplicasSplitEvenly) {
  LeastOutstanding p(2, 9);
  std::vector<ReplicaView> r = {view(0, 1), view(1, 1)};
  int zero = 0;
  for (int n = 0; n < 4000; ++n) zero += *p.pick({}, r, {}) == 0u ? 1 : 0;
  EXPECT_NEAR(zero, 2000, 250);
}

TEST(LeastOutstandingTest, BalancesLoadWhenCountsFollowPicks) {
  // Simulated gateway: each pick adds one in-flight request; picks stay balanced.
  LeastOutstanding p(2, 3);
  std::vector<ReplicaView> r;
  for (ReplicaId i = 0; i < 5; ++i) r.push_back(view(i, 0));
  for (int n = 0; n < 500; ++n) ++r[*p.pick({}, r, {})].in_flight;
  uint32_t lo = UINT32_MAX, hi = 0;
  for (const auto& v : r) {
    lo = std::min(lo, v.in_flight);
    hi = std::max(hi, v.in_flight);
  }
  EXPECT_LE(hi - lo, 3u);
}

TEST(RoutingFactoryTest, BuildsKnownPoliciesAndRefusesOthers) {
  auto ok = make_policy({"least_outstanding", 2}, 1);
  ASSERT_TRUE(ok);
  EXPECT_EQ((*ok)->name(), "least_outstanding");
  auto bad = make_policy({"round_robin_typo", 2}, 1);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().param, "routing.policy");
  EXPECT_FALSE(make_policy({"least_outstanding", 0}, 1));
}

}  // namespace
}  // namespace tidal::routing
