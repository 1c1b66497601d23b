#include "routing/policies/least_outstanding.h"

#include <gtest/gtest.h>

#include "routing/views.h"

#include <map>
#include <string>

#include "routing/policies/basic.h"
#include "routing/policies/session.h"

namespace tidal::routing {
namespace {

using testing::view;

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

TEST(LeastOutstandingTest, ChoicesAllScansEveryReplica) {
  LeastOutstanding p(kAllChoices, 5);
  std::vector<ReplicaView> r;
  for (ReplicaId i = 0; i < 16; ++i) r.push_back(view(i, 10 + i));
  r[11].in_flight = 1;
  for (int n = 0; n < 100; ++n) EXPECT_EQ(p.pick({}, r, {}), 11u);
}

TEST(RoundRobinTest, TakesReplicasInTurnAcrossLoopsAndSkipsUnroutable) {
  RoutingConfig c;
  SharedState shared(c);
  RoundRobin a(shared), b(shared);  // two event loops of one pool
  std::vector<ReplicaView> r = {view(0, 0), view(1, 0, false), view(2, 0), view(3, 0)};
  std::vector<ReplicaId> seq;
  for (int n = 0; n < 8; ++n) seq.push_back(*(n % 2 ? a : b).pick({}, r, {}));
  // Positions 0,1,2,3 in turn; the unroutable one's turn goes to the next.
  EXPECT_EQ(seq, (std::vector<ReplicaId>{0, 2, 2, 3, 0, 2, 2, 3}));
}

TEST(RandomTest, PicksOnlyEligibleReplicasUniformly) {
  RandomPick p(3);
  std::vector<ReplicaView> r = {view(0, 0), view(1, 0, false), view(2, 4, true, 4), view(3, 0)};
  std::map<ReplicaId, int> hits;
  for (int n = 0; n < 4000; ++n) ++hits[*p.pick({}, r, {})];
  EXPECT_EQ(hits.count(1), 0u);
  EXPECT_EQ(hits.count(2), 0u);
  EXPECT_NEAR(hits[0], 2000, 200);
}

ReplicaView weighted(ReplicaId id, uint32_t weight, bool backup = false, bool routable = true) {
  ReplicaView v = view(id, 0, routable);
  v.weight = weight;
  v.backup = backup;
  return v;
}

TEST(WeightedTest, FollowsNginxSmoothSequenceExactlyOverACycle) {
  RoutingConfig c;
  SharedState shared(c);
  Weighted p(shared);
  std::vector<ReplicaView> r = {weighted(0, 5), weighted(1, 1), weighted(2, 1)};
  std::vector<ReplicaId> seq;
  for (int n = 0; n < 14; ++n) seq.push_back(*p.pick({}, r, {}));
  // nginx's documented example for weights 5, 1, 1: a a b a c a a, then again.
  const std::vector<ReplicaId> cycle = {0, 0, 1, 0, 2, 0, 0};
  EXPECT_EQ(std::vector<ReplicaId>(seq.begin(), seq.begin() + 7), cycle);
  EXPECT_EQ(std::vector<ReplicaId>(seq.begin() + 7, seq.end()), cycle);
}

TEST(WeightedTest, LoopsSharingStateTogetherKeepTheWeights) {
  RoutingConfig c;
  SharedState shared(c);
  Weighted a(shared), b(shared);
  std::vector<ReplicaView> r = {weighted(0, 3), weighted(1, 1), weighted(2, 2)};
  std::map<ReplicaId, int> hits;
  for (int n = 0; n < 600; ++n) ++hits[*(n % 3 ? a : b).pick({}, r, {})];
  EXPECT_EQ(hits[0], 300);
  EXPECT_EQ(hits[1], 100);
  EXPECT_EQ(hits[2], 200);
}

TEST(WeightedTest, BackupOnlyWhenEveryPrimaryIsDown) {
  RoutingConfig c;
  SharedState shared(c);
  Weighted p(shared);
  std::vector<ReplicaView> r = {weighted(0, 1), weighted(1, 1), weighted(2, 1, /*backup=*/true)};
  for (int n = 0; n < 50; ++n) EXPECT_NE(p.pick({}, r, {}), 2u);
  r[0].routable = false;
  for (int n = 0; n < 50; ++n) EXPECT_EQ(p.pick({}, r, {}), 1u);
  r[1].routable = false;
  for (int n = 0; n < 50; ++n) EXPECT_EQ(p.pick({}, r, {}), 2u);
  r[0].routable = true;
  EXPECT_EQ(p.pick({}, r, {}), 0u);
}

TEST(WeightedTest, AFullReplicaLosesItsTurnOnly) {
  RoutingConfig c;
  SharedState shared(c);
  Weighted p(shared);
  std::vector<ReplicaView> r = {weighted(0, 1), weighted(1, 1)};
  r[0].max_in_flight = 1;
  r[0].in_flight = 1;
  for (int n = 0; n < 10; ++n) EXPECT_EQ(p.pick({}, r, {}), 1u);
  r[1].max_in_flight = 1;
  r[1].in_flight = 1;
  EXPECT_EQ(p.pick({}, r, {}), std::nullopt);
}

TEST(SessionTest, KeepsASessionOnOneReplicaAndMovesFewWhenOneLeaves) {
  Session p(1.25, 1);
  std::vector<ReplicaView> r;
  for (ReplicaId i = 0; i < 8; ++i) r.push_back(view(i, 0));
  std::map<std::string, ReplicaId> home;
  for (int s = 0; s < 400; ++s) {
    const std::string key = "user-" + std::to_string(s);
    RequestInfo req;
    req.session = key;
    home[key] = *p.pick(req, r, {});
    for (int again = 0; again < 3; ++again) EXPECT_EQ(p.pick(req, r, {}), home[key]);
  }
  // Replica 3 goes: only its sessions move.
  r[3].routable = false;
  int moved = 0;
  for (const auto& [key, id] : home) {
    RequestInfo req;
    req.session = key;
    const ReplicaId now = *p.pick(req, r, {});
    if (id != 3) {
      EXPECT_EQ(now, id) << key;
    }
    moved += now != id ? 1 : 0;
  }
  EXPECT_GT(moved, 20);
  EXPECT_LT(moved, 90);  // ~1/8 of 400
}

TEST(SessionTest, AHotSessionSpillsPastTheLoadBound) {
  Session p(1.25, 1);
  std::vector<ReplicaView> r = {view(0, 0), view(1, 0), view(2, 0), view(3, 0)};
  RequestInfo req;
  req.session = "hot";
  const ReplicaId home = *p.pick(req, r, {});
  // Everything this session sends stays home while it is under 1.25 × mean + 1.
  for (int n = 0; n < 40; ++n) ++r[*p.pick(req, r, {})].in_flight;
  uint32_t max_in_flight = 0;
  for (const auto& v : r) max_in_flight = std::max(max_in_flight, v.in_flight);
  EXPECT_LE(max_in_flight, 13u);  // ceil(1.25 × 41 / 4)
  EXPECT_GE(r[home].in_flight, 12u);
}

TEST(RoutingFactoryTest, BuildsEveryKnownPolicyAndRefusesOthers) {
  for (auto name : known_policies()) {
    RoutingConfig c;
    c.policy = std::string(name);
    if (name == "composite") c.scorers = {{"load", 1}};
    SharedState shared(c);
    auto p = make_policy(c, shared, 1);
    ASSERT_TRUE(p) << name << ": " << p.error().message;
    EXPECT_EQ((*p)->name(), name);
  }
  RoutingConfig bad;
  bad.policy = "round_robin_typo";
  SharedState shared(bad);
  auto e = make_policy(bad, shared, 1);
  ASSERT_FALSE(e);
  EXPECT_EQ(e.error().param, "routing.policy");
}

}  // namespace
}  // namespace tidal::routing
