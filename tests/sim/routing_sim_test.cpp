// Routing in the simulator: the same policies and per-replica bookkeeping as the
// gateway, over many requests with real prefix structure (the Mooncake trace).
#include <gtest/gtest.h>

#include "sim/runner.h"
#include "support/paths.h"

namespace tidal::sim {
namespace {

SimResult run(const std::string& policy) {
  SimConfig c;
  c.preset = "llama3-8b-h100";
  c.scaling.policies = {"static"};
  c.scaling.replicas = 3;
  c.scaling.min_replicas = c.scaling.max_replicas = 3;
  c.initial_replicas = 3;
  c.max_in_flight_per_replica = 100000;
  c.queue_timeout_s = 600;
  c.routing.policy = policy;
  ScenarioParams sizes;
  const std::string trace = testing_paths::data_dir() + "/mooncake_first1000.jsonl";
  auto w = Workload::trace(trace, 3.0, 1.0, sizes, 1);
  auto sizing = Workload::trace(trace, 3.0, 1.0, sizes, 1);
  EXPECT_TRUE(w && sizing);
  auto r = run_simulation(c, **w, **sizing, 1);
  EXPECT_TRUE(r) << r.error().message;
  return std::move(*r);
}

double pct(uint64_t part, uint64_t whole) { return whole ? 100.0 * double(part) / double(whole) : 0; }

TEST(RoutingSimulationTest, PrefixAffinityFindsMoreCachedPromptsAndPredictsThemExactly) {
  const SimResult rr = run("round_robin");
  const SimResult pa = run("prefix_affinity");
  ASSERT_EQ(rr.requests, 1000u);
  EXPECT_EQ(rr.completed, pa.completed);
  EXPECT_EQ(rr.completed + rr.invalid, 1000u);  // every valid request served under both
  const double rr_hits = pct(rr.prefix_cached_tokens, rr.prompt_tokens_served);
  const double pa_hits = pct(pa.prefix_cached_tokens, pa.prompt_tokens_served);
  EXPECT_GT(pa_hits, 1.5 * rr_hits) << rr_hits << " vs " << pa_hits;
  // round_robin keeps no model of the caches; prefix_affinity's matches the engines'.
  EXPECT_EQ(rr.prefix_predicted_tokens, 0u);
  EXPECT_NEAR(pct(pa.prefix_predicted_tokens, pa.prompt_tokens_served), pa_hits, 1.0);
}

TEST(RoutingSimulationTest, EveryPolicyServesTheTraceWhole) {
  for (const char* p : {"least_outstanding", "random", "weighted", "peak_ewma", "token_budget", "slots", "kv_usage",
                        "session"}) {
    const SimResult r = run(p);
    EXPECT_EQ(r.completed + r.invalid, r.requests) << p;
    EXPECT_EQ(r.failed, 0u) << p;
  }
}

}  // namespace
}  // namespace tidal::sim
