// The gateway's admission order (admission::WaitQueue) in the simulator: what tiers and
// tenant fairness do to each traffic class under overload.
#include <gtest/gtest.h>

#include "sim/report.h"
#include "sim/runner.h"
#include "sim/sim_config.h"

namespace tidal::sim {
namespace {

SimResult run(const std::string& yaml, double rps, uint64_t seed = 1, const char* output_tokens = nullptr) {
  auto c = parse_sim_config(yaml, "test.yaml");
  EXPECT_TRUE(c) << c.error().message;
  ScenarioParams p;
  p.name = "constant";
  p.base_rps = rps;
  p.duration_s = 900;
  if (output_tokens) p.output = *Distribution::parse(output_tokens);
  auto w = Workload::scenario(p, seed);
  auto sizing = Workload::scenario(p, seed);
  auto r = run_simulation(*c, **w, **sizing, seed);
  EXPECT_TRUE(r) << r.error().message;
  return std::move(*r);
}

const ClassResult& cls(const SimResult& r, const std::string& name) {
  for (const auto& [n, c] : r.classes) {
    if (n == name) return c;
  }
  ADD_FAILURE() << "no class " << name;
  static ClassResult none;
  return none;
}

double slo_pct(const ClassResult& c) { return c.requests ? 100.0 * c.slo_met / c.requests : 0; }

// One replica at ~2x its capacity: a FIFO queue fails both classes alike; with tiers the
// paid class meets its SLO and the free class absorbs the shedding.
constexpr const char* kFleet = R"(
fleet: {initial: 1, min: 1, max: 1}
scaling: {policy: static, replicas: 1}
gateway: {max_in_flight_per_replica: 16, max_queue: 500, queue_timeout_s: 20}
)";

TEST(AdmissionSimulationTest, TiersProtectThePaidClassUnderOverload) {
  const std::string traffic = R"(
traffic:
  - {name: paid, tier: paid, share: 0.2, tenants: 3}
  - {name: free, tier: free, share: 0.8, tenants: 20}
)";
  const SimResult fifo = run(std::string(kFleet) + R"(
admission: {tiers: [{name: paid, max_queue_wait_s: 20}, {name: free, max_queue_wait_s: 20}]}
)" + R"(
traffic:
  - {name: paid, tier: free, share: 0.2, tenants: 3}
  - {name: free, tier: free, share: 0.8, tenants: 20}
)", 12);
  const SimResult tiered = run(std::string(kFleet) + R"(
admission: {tiers: [{name: paid, max_queue_wait_s: 20}, {name: free, max_queue_wait_s: 20}]}
)" + traffic, 12);
  ASSERT_EQ(tiered.classes.size(), 2u);
  // Overloaded: the FIFO run sheds from both classes.
  EXPECT_GT(cls(fifo, "paid").failed, 0u);
  EXPECT_LT(slo_pct(cls(fifo, "paid")), 70);
  // Tiers: paid almost always within the SLO, never refused; free takes the refusals.
  EXPECT_GT(slo_pct(cls(tiered, "paid")), 95);
  EXPECT_EQ(cls(tiered, "paid").failed, 0u);
  EXPECT_GT(cls(tiered, "free").failed, cls(fifo, "free").failed);
  EXPECT_LT(cls(tiered, "paid").ttft_ms.p95, cls(fifo, "paid").ttft_ms.p95 / 5);
  // The per-class report is in the JSON.
  EXPECT_NE(to_json(tiered).find("\"classes\":{\"paid\""), std::string::npos);
}

TEST(AdmissionSimulationTest, VtcKeepsLightTenantsAheadOfAHeavyOne) {
  // One tenant sends 80 % of the requests, ten others share 20 %; all in one tier.
  auto with = [&](const char* fairness) {
    return run(std::string(kFleet) + "admission: {fairness: " + fairness + R"(}
traffic:
  - {name: heavy, share: 0.8, tenants: 1}
  - {name: light, share: 0.2, tenants: 10}
)", 12);
  };
  const SimResult fifo = with("none");
  const SimResult vtc = with("vtc");
  EXPECT_LT(slo_pct(cls(fifo, "light")), 70);
  EXPECT_GT(slo_pct(cls(vtc, "light")), 95);
  EXPECT_LT(slo_pct(cls(vtc, "heavy")), slo_pct(cls(fifo, "heavy")) + 1);
  EXPECT_GT(vtc.jain_index, fifo.jain_index);
}

TEST(AdmissionSimulationTest, FullQueueEvictsTheLowerTier) {
  // A queue too short for the backlog: paid newcomers evict free waiters (shed), and
  // free newcomers are refused (queue_full) rather than displacing paid ones.
  const SimResult r = run(R"(
fleet: {initial: 1, min: 1, max: 1}
scaling: {policy: static, replicas: 1}
gateway: {max_in_flight_per_replica: 16, max_queue: 40}
admission: {tiers: [{name: paid}, {name: free}]}
traffic:
  - {name: paid, tier: paid, share: 0.3}
  - {name: free, tier: free, share: 0.7}
)", 14);
  const auto& free = cls(r, "free");
  EXPECT_GT(free.errors_by_kind.count("shed") ? free.errors_by_kind.at("shed") : 0, 0u);
  EXPECT_GT(free.errors_by_kind.count("queue_full") ? free.errors_by_kind.at("queue_full") : 0, 0u);
  EXPECT_EQ(cls(r, "paid").errors_by_kind.count("shed"), 0u);
}

TEST(AdmissionSimulationTest, UnknownTierInTrafficIsRefusedWithItsKey) {
  auto c = parse_sim_config("admission: {tiers: [{name: a}]}\ntraffic: [{tier: b}]\n", "x.yaml");
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().param, "traffic[0].tier");
}


TEST(AdmissionSimulationTest, ReservedSlotsKeepThePaidTtftLowUnderAFreeFlood) {
  // Long free requests fill every slot (4 slots, 1,000-token answers); strict priority
  // alone makes a paid request wait for one to end, a reserved slot is free for it.
  auto with = [&](int reserved) {
    return run(R"(
fleet: {initial: 1, min: 1, max: 1}
scaling: {policy: static, replicas: 1}
gateway: {max_in_flight_per_replica: 4, max_queue: 500}
admission: {tiers: [{name: paid, max_queue_wait_s: 60, reserved_slots: )" + std::to_string(reserved) + R"(},
                    {name: free, max_queue_wait_s: 20}]}
traffic:
  - {name: paid, tier: paid, share: 0.05}
  - {name: free, tier: free, share: 0.95, tenants: 10}
)", 1, 1, "1000");
  };
  const SimResult plain = with(0);
  const SimResult reserved = with(2);
  // Seen: p50 30 ms vs 1.5 s, p95 0.19 s vs 4.2 s.
  EXPECT_LT(cls(reserved, "paid").ttft_ms.p50, cls(plain, "paid").ttft_ms.p50 / 5);
  EXPECT_LT(cls(reserved, "paid").ttft_ms.p95, cls(plain, "paid").ttft_ms.p95 / 2)
      << "paid p95 TTFT " << cls(reserved, "paid").ttft_ms.p95 << " vs " << cls(plain, "paid").ttft_ms.p95;
  EXPECT_EQ(cls(reserved, "paid").failed, 0u);
}

}  // namespace
}  // namespace tidal::sim
