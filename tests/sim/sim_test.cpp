#include <gtest/gtest.h>

#include <fmt/format.h>

#include <boost/json.hpp>
#include <fstream>

#include "common/rng.h"

#include "sim/capacity.h"
#include "sim/event_queue.h"
#include "sim/html_report.h"
#include "sim/report.h"
#include "sim/runner.h"
#include "support/paths.h"

namespace tidal::sim {
namespace {

std::unique_ptr<Workload> scenario(const std::string& name, double rps, uint64_t seed = 1, double duration = 0) {
  ScenarioParams p;
  p.name = name;
  p.base_rps = rps;
  p.duration_s = duration;
  auto w = Workload::scenario(p, seed);
  EXPECT_TRUE(w) << name;
  return std::move(*w);
}

SimResult simulate(const SimConfig& c, const std::string& name, double rps, uint64_t seed = 1, double duration = 0) {
  auto w = scenario(name, rps, seed, duration);
  auto sizing = scenario(name, rps, seed, duration);
  auto r = run_simulation(c, *w, *sizing, seed);
  EXPECT_TRUE(r) << r.error().message;
  return std::move(*r);
}

TEST(EventQueueTest, OrdersByTimeThenKindThenSequence) {
  EventQueue q;
  q.push(2.0, EventKind::kArrival, 1);
  q.push(1.0, EventKind::kTick, 2);
  q.push(1.0, EventKind::kArrival, 3);
  q.push(1.0, EventKind::kArrival, 4);
  q.push(1.0, EventKind::kWorkDone, 5);
  std::vector<uint64_t> order;
  while (!q.empty()) order.push_back(q.pop().a);
  EXPECT_EQ(order, (std::vector<uint64_t>{5, 3, 4, 2, 1}));
}

// Mean arrival rate of a workload over [from, to).
double observed_rate(Workload& w, double from, double to) {
  double n = 0;
  while (auto r = w.next()) {
    if (r->t_s >= to) break;
    if (r->t_s >= from) ++n;
  }
  return n / (to - from);
}

TEST(ScenarioTest, SpikeReachesTenTimesWithinFiveMinutesThenReturns) {
  auto w = scenario("spike", 5);
  EXPECT_NEAR(w->rate_at(100), 5, 1e-9);
  EXPECT_NEAR(w->rate_at(1800 + 300), 50, 1e-9);  // 10x, five minutes after the ramp starts
  EXPECT_NEAR(w->rate_at(1800 + 150), 27.5, 1e-9);
  EXPECT_NEAR(w->rate_at(w->duration_s() - 10), 5, 1e-9);
  EXPECT_NEAR(observed_rate(*w, 0, 1800), 5, 0.4);
  auto again = scenario("spike", 5);
  EXPECT_NEAR(observed_rate(*again, 2100, 3300), 50, 2.0);
}

TEST(ScenarioTest, ShapesOfTheOtherScenarios) {
  auto gradual = scenario("gradual", 4);
  EXPECT_NEAR(gradual->rate_at(900 + 3600), 8, 1e-9);
  EXPECT_NEAR(gradual->rate_at(900 + 1800), 6, 1e-9);
  auto periodic = scenario("periodic", 10);
  EXPECT_EQ(periodic->duration_s(), 3 * 86400);
  EXPECT_NEAR(periodic->rate_at(43200) / periodic->rate_at(0), 4.0, 1e-9);  // peak/trough
  auto drop = scenario("drop", 10);
  EXPECT_NEAR(drop->rate_at(1799), 10, 1e-9);
  EXPECT_NEAR(drop->rate_at(1801), 1, 1e-9);
  // Mixed: the share of long outputs grows over the run.
  auto mixed = scenario("mixed", 20);
  double early_out = 0, late_out = 0, early_n = 0, late_n = 0;
  while (auto r = mixed->next()) {
    if (r->t_s < 1200) { early_out += r->output_tokens; ++early_n; }
    if (r->t_s > 6000) { late_out += r->output_tokens; ++late_n; }
  }
  EXPECT_GT(late_out / late_n, 1.8 * early_out / early_n);
  ScenarioParams bad;
  bad.name = "tsunami";
  EXPECT_FALSE(Workload::scenario(bad, 1));
}

TEST(ScenarioTest, GammaArrivalsKeepTheRateAndAddBurstiness) {
  ScenarioParams p;
  p.name = "constant";
  p.base_rps = 5;
  p.duration_s = 8000;
  p.arrival_cv = 3;
  auto w = Workload::scenario(p, 9);
  ASSERT_TRUE(w);
  double last = 0, s = 0, s2 = 0, n = 0;
  while (auto r = (*w)->next()) {
    const double g = r->t_s - last;
    last = r->t_s;
    s += g;
    s2 += g * g;
    ++n;
  }
  const double mean = s / n;
  EXPECT_NEAR(n / 8000, 5, 0.5);
  EXPECT_NEAR(std::sqrt(s2 / n - mean * mean) / mean, 3, 0.45);
  // Under a rate curve, the spike still reaches its peak.
  p.name = "spike";
  p.duration_s = 0;
  auto spike = Workload::scenario(p, 9);
  EXPECT_NEAR(observed_rate(**spike, 2100, 3300), 50, 5.0);
}

TEST(TraceWorkloadTest, MooncakeSharedLeadingIdsShareEnginePrefixBlocks) {
  const std::vector<uint64_t> a = {7, 8, 9}, b = {7, 8, 10};
  const auto pa = mooncake_prefix(a, 1500), pb = mooncake_prefix(b, 1500);
  ASSERT_EQ(pa.size(), 93u);  // 1500 / 16 full blocks
  EXPECT_TRUE(std::equal(pa.begin(), pa.begin() + 64, pb.begin()));
  EXPECT_NE(pa[64], pb[64]);
  ScenarioParams sizes;
  auto w = Workload::trace(testing_paths::data_dir() + "/mooncake_sample.jsonl", 2.0, 1.0, sizes, 1);
  ASSERT_TRUE(w);
  size_t n = 0;
  while (auto r = (*w)->next()) {
    EXPECT_FALSE(r->prefix.empty());
    ++n;
  }
  EXPECT_EQ(n, 20u);
  auto doubled = Workload::trace(testing_paths::data_dir() + "/azure_code_sample.csv", 1.0, 2.0, sizes, 1);
  ASSERT_TRUE(doubled);
  n = 0;
  while ((*doubled)->next()) ++n;
  EXPECT_EQ(n, 40u);
}

TEST(SimulationTest, SameSeedGivesByteIdenticalJson) {
  SimConfig c;
  c.scaling.policies = {"threshold"};
  c.initial_replicas = 1;
  const std::string a = to_json(simulate(c, "spike", 3, 42, 3600));
  const std::string b = to_json(simulate(c, "spike", 3, 42, 3600));
  EXPECT_EQ(a, b);
  EXPECT_NE(a, to_json(simulate(c, "spike", 3, 43, 3600)));
}

TEST(SimulationTest, ColdStartDelaysCapacity) {
  SimConfig c;
  c.scaling.policies = {"threshold"};
  c.initial_replicas = 1;
  c.scaling.threshold.cooldown_s = 60;
  c.instance.cold_start_s = 30;
  const SimResult fast = simulate(c, "spike", 4);
  c.instance.cold_start_s = 600;
  const SimResult slow = simulate(c, "spike", 4);
  ASSERT_GT(fast.scale_up_latency_s, 0);
  EXPECT_GT(slow.scale_up_latency_s, fast.scale_up_latency_s + 300);
  EXPECT_GT(slow.ttft_ms.p99, fast.ttft_ms.p99);
}

TEST(SimulationTest, QueueDeadlinesShedWhenCapacityIsShort) {
  SimConfig c;
  c.scaling.policies = {"static"};
  c.scaling.replicas = 1;
  c.max_in_flight_per_replica = 8;
  c.queue_timeout_s = 5;
  const SimResult r = simulate(c, "constant", 20, 1, 600);
  EXPECT_GT(r.errors_by_kind.at("queue_timeout"), 100u);
  EXPECT_LT(r.completed, r.requests);
  // Nothing waits longer than its deadline: TTFT of the served stays bounded by it plus service.
  EXPECT_LT(r.ttft_ms.max, 5000 + 2000);
}

TEST(SimulationTest, PeakSizedFleetMeetsTheSloAndCostsMoreThanMeanSized) {
  SimConfig peak;
  peak.scaling.policies = {"static_peak"};
  SimConfig mean;
  mean.scaling.policies = {"static_mean"};
  const SimResult p = simulate(peak, "spike", 4);
  const SimResult m = simulate(mean, "spike", 4);
  EXPECT_GT(p.cost_usd, m.cost_usd);
  EXPECT_GT(static_cast<double>(p.slo_met) / p.requests, 0.95);
  EXPECT_LT(static_cast<double>(m.slo_met) / m.requests, static_cast<double>(p.slo_met) / p.requests);
  EXPECT_GT(p.overprovisioning_pct, m.overprovisioning_pct);
  // Cost = instance-hours x price.
  EXPECT_NEAR(p.cost_usd, p.instance_hours * peak.instance.price_per_hour, 1e-6);
}

TEST(SimulationTest, ThresholdAutoscalerFollowsTheSpikeAndScalesBackDown) {
  SimConfig c;
  c.scaling.policies = {"threshold"};
  c.initial_replicas = 1;
  c.max_in_flight_per_replica = 64;
  const SimResult r = simulate(c, "spike", 4);
  EXPECT_GE(r.max_replicas, 3);
  EXPECT_GE(r.scaling_events.size(), 2u);
  bool up = false, down = false;
  for (const auto& e : r.scaling_events) {
    up = up || e.to > e.from;
    down = down || e.to < e.from;
  }
  EXPECT_TRUE(up);
  EXPECT_TRUE(down);
  EXPECT_GT(r.scale_up_latency_s, 82);  // at least one cold start
  EXPECT_GE(r.scale_down_latency_s, 0);
}

// The simulator models a replica's CPU as its engine loop's busy share of one core: an
// HPA on CPU sees it (it used to hold for want of a sample) and, as with real engines
// that spin while they step, grows far beyond what the load needs.
TEST(SimulationTest, HpaOnCpuSeesTheEngineLoopsBusyShareAndOverProvisions) {
  auto c = parse_sim_config(R"(
fleet: {initial: 1, min: 1, max: 20}
gateway: {max_in_flight_per_replica: 64}
scaling:
  policy: hpa
  interval_s: 15
  metrics: [{type: Resource, resource: {name: cpu, target: {type: Utilization, averageUtilization: 80}}}]
)", "cpu.yaml");
  ASSERT_TRUE(c) << c.error().message;
  const SimResult r = simulate(*c, "constant", 2, 1, 1800);
  ASSERT_FALSE(r.scaling_events.empty());
  EXPECT_NE(r.scaling_events.front().reason.find("cpu -> "), std::string::npos) << r.scaling_events.front().reason;
  EXPECT_GT(r.max_replicas, 2 * static_cast<int>(std::ceil(2 / r.capacity_rps_per_replica)));
}

TEST(SimulationTest, JsonHasTheDocumentedFieldsAndHtmlIsSelfContained) {
  SimConfig c;
  const SimResult r = simulate(c, "drop", 2, 1, 2400);
  auto j = boost::json::parse(to_json(r)).as_object();
  for (const char* key : {"availability", "error_rate", "ttft_ms", "e2e_ms", "slo_attainment", "cost_usd", "gpu_hours",
                          "overprovisioning_pct", "scale_up_latency_s", "scale_down_latency_s", "scaling_events", "series"}) {
    EXPECT_TRUE(j.contains(key)) << key;
  }
  EXPECT_TRUE(j.at("ttft_ms").as_object().contains("p95"));
  const std::string html = to_html({r});
  EXPECT_NE(html.find("Chart.js"), std::string::npos);  // the library itself is inside
  EXPECT_EQ(html.find("<script src="), std::string::npos);
  EXPECT_NE(html.find("\"policy\":\"static\""), std::string::npos);
}

TEST(SimulationTest, SpotPreemptionsRetryOrFailTheirRequestsAndCostLess) {
  SimConfig c;
  c.scaling.policies = {"threshold"};
  c.initial_replicas = 3;
  c.scaling.min_replicas = 3;
  c.instance.spot_fraction = 1.0;
  c.instance.spot_preemptions_per_hour = 4;  // frequent, to see several in 1 h
  c.instance.spot_notice_s = 0.5;            // too short to drain (2 min would let requests finish)
  c.instance.cold_start_s = 60;
  const SimResult retried = simulate(c, "constant", 6, 3, 3600);
  EXPECT_GT(retried.spot_preemptions, 3u);
  EXPECT_GT(retried.retried_requests, 0u);
  EXPECT_EQ(retried.errors_by_kind.count("preempted"), 0u);
  // Every replica billed at the spot price.
  EXPECT_NEAR(retried.cost_usd, retried.instance_hours * c.instance.spot_price_per_hour, 1e-6);
  c.retry_preempted = false;
  const SimResult failed = simulate(c, "constant", 6, 3, 3600);
  ASSERT_TRUE(failed.errors_by_kind.count("preempted"));
  EXPECT_GT(failed.errors_by_kind.at("preempted"), 0u);
  EXPECT_GT(failed.failed, retried.failed);
  // The controller replaced the lost capacity.
  EXPECT_GT(retried.scaling_events.size(), 0u);
}

TEST(TraceWorkloadTest, ServeGenClientWindowsDriveArrivals) {
  ScenarioParams sizes;
  auto w = Workload::trace(testing_paths::data_dir() + "/servegen_client_chunk8_100.csv", 1.0, 0.01, sizes, 5);
  ASSERT_TRUE(w) << w.error().message;
  EXPECT_NEAR((*w)->rate_at(10), 74.823 * 0.01, 1e-3);
  double expected = 0;
  for (int i = 0; i < 10; ++i) expected += (*w)->rate_at(600.0 * i + 1) * 600;
  size_t n = 0;
  while (auto r = (*w)->next()) {
    if (r->t_s >= 6000) break;
    ++n;
  }
  EXPECT_NEAR(static_cast<double>(n), expected, expected * 0.06);
}

TEST(SimConfigTest, ParsesAndRefusesWithKeyAndReason) {
  auto c = parse_sim_config("name: t\nscaling: {policy: threshold, cooldown_s: 60}\ninstance: {start_mode: warm_pool}\n", "p.yaml");
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->scaling.policies, std::vector<std::string>{"threshold"});
  EXPECT_EQ(c->scaling.threshold.cooldown_s, 60);
  EXPECT_EQ(default_cold_start_s(c->instance.start_mode), 4);
  auto bad = parse_sim_config("scaling: {polcy: x}", "p.yaml");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message, "p.yaml: scaling.polcy: is not a known key");
  EXPECT_FALSE(parse_sim_config("preset: gpt-9", "p.yaml"));
  EXPECT_FALSE(parse_sim_config("instance: {start_mode: teleport}", "p.yaml"));
}

}  // namespace
}  // namespace tidal::sim

namespace tidal::sim {
namespace {

// A conversation-shaped Azure trace (prompts up to 14k tokens, a few hundred output
// tokens) replayed 5x against a fleet sized for the mean: queues form, completions
// route queued requests onto replicas mid-stretch, and some prompts exceed the context.
// This aborted in the engine model's fast path before; now it must run to the end and
// count the over-long prompts as client errors, apart from availability.
TEST(SimulationTest, OverloadedLongPromptTraceRunsToTheEndAndCountsInvalidApart) {
  const std::string path = ::testing::TempDir() + "/conversation_like.csv";
  {
    std::ofstream out(path);
    out << "TIMESTAMP,ContextTokens,GeneratedTokens\n";
    Rng rng(5);
    double t = 0;
    for (int i = 0; i < 4000; ++i) {
      t += rng.exponential(0.2);
      const auto us = static_cast<int64_t>(t * 1e6);
      const int prompt = static_cast<int>(std::min(14000.0, rng.gamma_mean_cv(1500, 1.3)));
      const int output = static_cast<int>(std::min(1500.0, rng.gamma_mean_cv(220, 0.9)));
      out << fmt::format("2023-11-16 18:{:02}:{:02}.{:06}0,{},{}\n", us / 60'000'000, (us / 1'000'000) % 60,
                         us % 1'000'000, std::max(1, prompt), std::max(1, output));
    }
  }
  SimConfig c;
  c.name = "static-mean";
  c.scaling.policies = {"static_mean"};
  c.max_in_flight_per_replica = 16;
  auto w = Workload::trace(path, 1, 5, {}, 1);
  auto sizing = Workload::trace(path, 1, 5, {}, 1);
  ASSERT_TRUE(w && sizing);
  auto r = run_simulation(c, **w, **sizing, 1);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->requests, 20'000u);
  EXPECT_GT(r->invalid, 0u);
  EXPECT_EQ(r->invalid, r->invalid_by_kind.at("context_length_exceeded"));
  EXPECT_EQ(r->completed + r->failed, r->valid()) << "every valid request completes or fails with a reason";
  EXPECT_EQ(r->errors_by_kind.count("context_length"), 0u);
  EXPECT_GT(r->ttft_ms.p50, 0.0) << "every completed request has a first-token time";
}

}  // namespace
}  // namespace tidal::sim
