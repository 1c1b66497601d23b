#include "routing/policies/composite.h"

#include <gtest/gtest.h>

#include "routing/views.h"

#include <map>

#include "routing/replica_stats.h"

namespace tidal::routing {
namespace {

using testing::ready;


struct Policy {
  explicit Policy(RoutingConfig c) : shared(c), p(std::move(*make_policy(c, shared, 7))) {}
  SharedState shared;
  std::unique_ptr<RoutingPolicy> p;
};

RoutingConfig named(const char* name) {
  RoutingConfig c;
  c.policy = name;
  return c;
}

TimePoint at_s(double s) { return TimePoint{} + from_s(s); }

TEST(PeakEwmaTest, AvoidsAReplicaAfterOneSlowResponseAndReturnsAfterTheDecay) {
  Policy pol(named("peak_ewma"));
  ReplicaStats stats[3];
  std::vector<ReplicaView> r = {ready(0), ready(1), ready(2)};
  // Everyone answers at 20 ms/token, then replica 1 answers one request at 400 ms/token.
  for (int i = 0; i < 3; ++i) {
    Ticket t = dispatched(stats[i], {}, 0);
    finished(stats[i], t, Outcome{OutcomeKind::kOk, from_ms(50), from_ms(2000), 100}, at_s(1), 10);
  }
  Ticket slow = dispatched(stats[1], {}, 0);
  finished(stats[1], slow, Outcome{OutcomeKind::kOk, from_ms(50), from_ms(40000), 100}, at_s(2), 10);
  auto hits = [&](double now) {
    std::map<ReplicaId, int> h;
    for (auto& v : r) stats[v.id].fill(v);
    for (int n = 0; n < 300; ++n) ++h[*pol.p->pick({}, r, at_s(now))];
    return h;
  };
  EXPECT_EQ(hits(3)[1], 0);  // 400 vs ~20 ms/token: never picked at equal load
  // Fresh samples keep 0 and 2 at 20 ms/token; replica 1's peak decays (half-life 10 s).
  for (int i : {0, 2}) {
    Ticket t = dispatched(stats[i], {}, 0);
    finished(stats[i], t, Outcome{OutcomeKind::kOk, from_ms(50), from_ms(2000), 100}, at_s(60), 10);
  }
  EXPECT_GT(hits(60)[1], 50);  // 400 × 2^-5.8 ≈ 7 ms/token: back in rotation
}

TEST(PeakEwmaTest, WeighsLatencyByOutstandingRequests) {
  Policy pol(named("peak_ewma"));
  std::vector<ReplicaView> r = {ready(0, 9), ready(1, 1)};
  r[0].latency_ms = 10;  // fast but busy: 10 × 10 = 100
  r[1].latency_ms = 30;  // slower but idle: 30 × 2 = 60
  r[0].latency_at = r[1].latency_at = at_s(1);
  EXPECT_EQ(pol.p->pick({}, r, at_s(1)), 1u);
  r[1].in_flight = 4;  // 30 × 5 = 150
  EXPECT_EQ(pol.p->pick({}, r, at_s(1)), 0u);
}

TEST(TokenBudgetTest, NeverExceedsTheBudgetAndWaitsWhenAllAreFull) {
  RoutingConfig c = named("token_budget");
  c.token_budget = 10'000;
  Policy pol(c);
  ReplicaStats stats[3];
  std::vector<ReplicaView> r = {ready(0), ready(1), ready(2)};
  RequestInfo req;
  req.prompt_tokens = 1500;
  req.max_tokens = 500;
  int sent = 0;
  while (true) {
    for (auto& v : r) stats[v.id].fill(v);
    auto id = pol.p->pick(req, r, {});
    if (!id) break;
    (void)dispatched(stats[*id], req, 0);
    ++r[*id].in_flight;
    ++sent;
    ASSERT_LT(sent, 100);
  }
  EXPECT_EQ(sent, 15);  // 5 × 2,000 tokens fit each 10,000-token budget
  for (const auto& s : stats) EXPECT_LE(s.tokens_in_flight.load(), 10'000u);
}

TEST(TokenBudgetTest, LearnsTheBudgetFromTheEnginesKvSize) {
  Policy pol(named("token_budget"));
  std::vector<ReplicaView> r = {ready(0), ready(1)};
  r[0].kv_capacity_tokens = r[1].kv_capacity_tokens = 4000;
  r[0].tokens_in_flight = 3000;
  r[1].tokens_in_flight = 3500;
  RequestInfo req;
  req.prompt_tokens = 800;
  req.max_tokens = 100;
  EXPECT_EQ(pol.p->pick(req, r, {}), 0u);
  req.max_tokens = 300;  // 3,000 + 1,100 > 4,000 on both
  EXPECT_EQ(pol.p->pick(req, r, {}), std::nullopt);
}

TEST(KvUsageTest, PrefersLowCacheUtilisation) {
  Policy pol(named("kv_usage"));
  std::vector<ReplicaView> r = {ready(0, 2), ready(1, 2), ready(2, 2)};
  r[0].kv_usage = 0.9;
  r[1].kv_usage = 0.2;
  r[2].kv_usage = 0.6;
  for (int n = 0; n < 20; ++n) EXPECT_EQ(pol.p->pick({}, r, {}), 1u);
}

TEST(SlotsTest, CorrectsScrapedSlotsWithRequestsSentSince) {
  Policy pol(named("slots"));
  std::vector<ReplicaView> r = {ready(0, 1), ready(1, 3)};
  for (auto& v : r) v.slots_total = 4;
  r[0].slots_busy = 1;  // at the scrape: 1 of 4 busy on 0, 3 of 4 on 1
  r[1].slots_busy = 3;
  r[0].in_flight_at_scrape = 1;
  r[1].in_flight_at_scrape = 3;
  EXPECT_EQ(pol.p->pick({}, r, {}), 0u);
  r[0].in_flight = 4;  // the gateway sent 3 more to replica 0 since: 4 of 4
  r[1].in_flight = 2;  // and one finished on replica 1: 2 of 4
  EXPECT_EQ(pol.p->pick({}, r, {}), 1u);
}

TEST(CompositeTest, WeighsScorersAsConfigured) {
  RoutingConfig c = named("composite");
  c.scorers = {{"kv", 1}, {"load", 0}};
  Policy kv_only(c);
  std::vector<ReplicaView> r = {ready(0, 8), ready(1, 0)};
  r[0].kv_usage = 0.1;
  r[1].kv_usage = 0.7;
  EXPECT_EQ(kv_only.p->pick({}, r, {}), 0u);
  c.scorers = {{"kv", 1}, {"load", 2}};  // 0.1 + 2 × 8/9 vs 0.7 + 0
  Policy mixed(c);
  EXPECT_EQ(mixed.p->pick({}, r, {}), 1u);
}

TEST(CompositeTest, PrefixScorerPrefersTheHolder) {
  RoutingConfig c = named("composite");
  c.scorers = {{"prefix", 1}, {"load", 0.5}};
  Policy pol(c);
  std::vector<ReplicaView> r = {ready(0, 3), ready(1, 0), ready(2, 0)};
  std::vector<uint64_t> prefix = {11, 12, 13, 14, 15, 16, 17, 18};
  RequestInfo req;
  req.prefix = prefix;
  req.prompt_tokens = 128;
  EXPECT_EQ(pol.p->on_dispatch(0, req), 0u);
  EXPECT_EQ(pol.p->on_dispatch(0, req), 128u);  // now held: a full predicted hit
  // 0 + 0.5 × 3/4 on the holder vs 1 + 0 elsewhere.
  for (int n = 0; n < 10; ++n) EXPECT_EQ(pol.p->pick(req, r, {}), 0u);
}

TEST(RoutingConfigTest, ValidationNamesTheBadKey) {
  RoutingConfig c = named("composite");
  auto e = validate(c, "pools[0].routing");
  ASSERT_FALSE(e);
  EXPECT_EQ(e.error().param, "pools[0].routing.scorers");
  c.scorers = {{"lod", 1}};
  e = validate(c, "routing");
  ASSERT_FALSE(e);
  EXPECT_EQ(e.error().param, "routing.scorers.lod");
  RoutingConfig lo = named("least_outstanding");
  lo.scorers = {{"load", 1}};
  EXPECT_FALSE(validate(lo, "routing"));
  EXPECT_TRUE(validate(named("prefix_affinity"), "routing"));
}

}  // namespace
}  // namespace tidal::routing
