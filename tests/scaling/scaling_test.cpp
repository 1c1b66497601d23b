#include <gtest/gtest.h>

#include <yaml-cpp/yaml.h>

#include "common/config/yaml_reader.h"
#include "scaling/autoscaler.h"
#include "scaling/behavior.h"
#include "scaling/control_loop.h"
#include "scaling/load_window.h"
#include "scaling/policies/hpa_policy.h"
#include "scaling/policies/kpa_policy.h"

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

// Ready replicas with these CPU utilizations (%, nullopt = no sample), plus `starting`.
Signals pods(std::vector<std::optional<double>> cpu, int starting = 0) {
  Signals s;
  uint32_t id = 0;
  for (auto c : cpu) {
    ReplicaSample r;
    r.id = id++;
    r.ready = true;
    r.cpu_pct = c;
    s.replicas.push_back(r);
  }
  for (int i = 0; i < starting; ++i) s.replicas.push_back(ReplicaSample{id++, false, 0, {}, {}, {}, {}});
  s.ready = static_cast<int>(cpu.size());
  s.starting = starting;
  return s;
}

MetricSpec cpu_target(double pct) { return {MetricSource::kResource, "cpu", TargetType::kUtilization, pct}; }

TEST(ThresholdPolicyTest, StepsUpOnQueueOrTtftAndRespectsCooldown) {
  ScalingConfig c;
  c.threshold = {.queue_high = 10, .ttft_high_ms = 1000, .utilization_low = 0.3, .cooldown_s = 300};
  auto p = std::move(*make_scaling_policy("threshold", c));
  EXPECT_EQ(p->recommend(at(0, 2, 50)).replicas, 3);
  EXPECT_EQ(p->recommend(at(100, 3, 50)).replicas, 3);  // cooldown
  EXPECT_EQ(p->recommend(at(400, 3, 0, 0.5, 5000)).replicas, 4);  // TTFT over threshold
  EXPECT_EQ(p->recommend(at(800, 4, 0, 0.1)).replicas, 3);  // idle: one down
  EXPECT_EQ(p->recommend(at(1200, 3, 0, 0.5)).replicas, 3);  // within thresholds
  Signals stale = at(1600, 3, 0, 0.1);
  stale.load_fresh = false;
  EXPECT_EQ(p->recommend(stale).replicas, 3) << "stale load never shrinks";
}

// The Kubernetes HPA replica calculator's cases (pkg/controller/podautoscaler,
// replica_calculator_test.go), with CPU as % of the request.
TEST(HpaGoldenTest, ResourceUtilization) {
  // TestReplicaCalcScaleUp: 30/50/70% against 30% -> 5.
  EXPECT_EQ(hpa_replicas_for_metric(cpu_target(30), pods({30, 50, 70}), 0.1), 5);
  // TestReplicaCalcScaleUpUnreadyLessScale: an unready pod counts as idle on the way up -> 4.
  EXPECT_EQ(hpa_replicas_for_metric(cpu_target(30), pods({50, 70}, 1), 0.1), 4);
  // TestReplicaCalcScaleDown: 10/30/50/25/25% against 50% -> 3.
  EXPECT_EQ(hpa_replicas_for_metric(cpu_target(50), pods({10, 30, 50, 25, 25}), 0.1), 3);
  // TestReplicaCalcTolerance: within 10% of the target -> no change.
  EXPECT_EQ(hpa_replicas_for_metric(cpu_target(100), pods({105, 108, 102}), 0.1), 3);
  // TestReplicaCalcMissingMetricsNoChangeEq: one pod at the target, one missing -> 2.
  EXPECT_EQ(hpa_replicas_for_metric(cpu_target(100), pods({100, std::nullopt}), 0.1), 2);
  // Missing on a scale-down counts at 100% of its request: 10, 10 and a missing one
  // against 50% -> (10 + 10 + 100) / 3 = 40% -> 3 (not ceil(0.2 x 2) = 1).
  EXPECT_EQ(hpa_replicas_for_metric(cpu_target(50), pods({10, 10, std::nullopt}), 0.1), 3);
  // Missing on a scale-up counts as 0: 200% and a missing one against 100% -> 2 (not 4).
  EXPECT_EQ(hpa_replicas_for_metric(cpu_target(100), pods({200, std::nullopt}), 0.1), 2);
  // No sample at all: the metric is invalid.
  EXPECT_FALSE(hpa_replicas_for_metric(cpu_target(50), pods({std::nullopt}), 0.1));
}

TEST(HpaGoldenTest, ExternalAndObjectMetrics) {
  Signals s = pods({50, 50, 50});
  s.in_flight = 30;
  s.queue_depth = 10;
  const MetricSpec conc{MetricSource::kExternal, "concurrency", TargetType::kAverageValue, 8};
  EXPECT_EQ(hpa_replicas_for_metric(conc, s, 0.1), 5);  // ceil(40 / 8)
  s.queue_depth = 0;
  s.in_flight = 25;  // 25 / (8 x 3) = 1.04: within tolerance
  EXPECT_EQ(hpa_replicas_for_metric(conc, s, 0.1), 3);
  s.ttft_p95_ms = 3000;  // Value target: ratio x ready replicas
  const MetricSpec ttft{MetricSource::kObject, "ttft_p95", TargetType::kValue, 1000};
  EXPECT_EQ(hpa_replicas_for_metric(ttft, s, 0.1), 9);
  s.ttft_p95_ms = 0;  // no first token in the window while requests run: no value
  EXPECT_FALSE(hpa_replicas_for_metric(ttft, s, 0.1));
  s.in_flight = 0;  // ... and idle: nothing is slow
  EXPECT_EQ(hpa_replicas_for_metric(ttft, s, 0.1), 0);
}

TEST(HpaPolicyTest, TakesTheMaxAndNeverShrinksOnAMissingMetric) {
  HpaPolicy p({{MetricSource::kExternal, "concurrency", TargetType::kAverageValue, 8},
               {MetricSource::kPods, "kv_usage", TargetType::kAverageValue, 0.5}},
              0.1);
  Signals s = pods({0, 0, 0});
  for (auto& r : s.replicas) r.kv_usage = 0.9;
  s.in_flight = 8;
  Recommendation r = p.recommend(s);
  EXPECT_EQ(r.replicas, 6);  // kv: ceil(1.8 x 3) beats concurrency's 1
  EXPECT_NE(r.reason.find("kv_usage"), std::string::npos);
  for (auto& rs : s.replicas) rs.kv_usage.reset();  // the scrape failed
  r = p.recommend(s);
  EXPECT_EQ(r.replicas, 3) << "concurrency alone says 1, but kv_usage is missing: hold";
  EXPECT_TRUE(r.hold_down);
}

TEST(BehaviorTest, DefaultScaleUpIsMaxOfDoubleAndFourPodsPer15s) {
  Behavior b(BehaviorConfig{}, 1, 100);
  EXPECT_EQ(b.normalize(0, 1, 10).replicas, 5);   // max(2, 1 + 4)
  b.record_scale(0, 1, 5);
  EXPECT_EQ(b.normalize(5, 5, 50).replicas, 5);   // the period started at 1: still max(2, 5)
  EXPECT_EQ(b.normalize(16, 5, 50).replicas, 10); // a new period: max(10, 9)
  EXPECT_EQ(b.normalize(30, 40, 50).replicas, 50);
  EXPECT_EQ(b.normalize(31, 60, 500).replicas, 100) << "maxReplicas";
}

TEST(BehaviorTest, ScaleDownStabilizationKeepsTheHighestRecentRecommendation) {
  Behavior b(BehaviorConfig{}, 1, 100);  // 300 s window
  EXPECT_EQ(b.normalize(0, 5, 1).replicas, 5) << "a fresh autoscaler does not shrink the fleet it was handed";
  EXPECT_EQ(b.normalize(10, 5, 2).replicas, 5);
  EXPECT_EQ(b.normalize(200, 5, 3).replicas, 5);
  EXPECT_EQ(b.normalize(301, 5, 2).replicas, 3) << "the 5s at t=0 left the window; 3 at t=200 is the highest";
  EXPECT_EQ(b.normalize(501, 5, 2).replicas, 2);
}

TEST(BehaviorTest, RatePoliciesSelectAndDisable) {
  BehaviorConfig c;
  c.scale_down = {0.0, ScalingRules::Select::kMax, {{false, 1, 60}}};  // one pod a minute
  Behavior b(c, 1, 100);
  EXPECT_EQ(b.normalize(0, 5, 1).replicas, 4);
  b.record_scale(0, 5, 4);
  EXPECT_EQ(b.normalize(10, 4, 1).replicas, 4) << "this minute's pod is spent";
  EXPECT_EQ(b.normalize(61, 4, 1).replicas, 3);

  BehaviorConfig m;
  m.scale_up.select = ScalingRules::Select::kMin;  // min(+100%, +4)
  EXPECT_EQ(Behavior(m, 1, 100).normalize(0, 10, 40).replicas, 14);
  BehaviorConfig off;
  off.scale_down.select = ScalingRules::Select::kDisabled;
  off.scale_down.stabilization_window_s = 0;
  EXPECT_EQ(Behavior(off, 1, 100).normalize(0, 10, 2).replicas, 10);
}

TEST(KpaPolicyTest, PanicsOnABurstAndNeverShrinksWhilePanicking) {
  KpaConfig c;  // target 8 x 0.7 = 5.6 per replica; 60 s stable, 6 s panic window
  KpaPolicy p(c);
  Signals s;
  s.ready = 2;
  for (int t = 0; t < 60; ++t) {
    s.now_s = t;
    s.in_flight = 10;
    EXPECT_EQ(p.recommend(s).replicas, 2);
  }
  EXPECT_FALSE(p.panicking());
  s.now_s = 60;
  s.in_flight = 50;
  s.queue_depth = 40;  // 90 concurrent over a short window: ceil(~23/5.6) >= 2 x 2
  const int burst = p.recommend(s).replicas;
  EXPECT_TRUE(p.panicking());
  EXPECT_GE(burst, 4);
  int last = burst;
  for (int t = 61; t < 110; ++t) {  // demand falls; still inside the stable window of the panic
    s.now_s = t;
    s.in_flight = 2;
    s.queue_depth = 0;
    const int n = p.recommend(s).replicas;
    EXPECT_GE(n, last) << "t=" << t;
    last = n;
  }
  for (int t = 110; t < 200; ++t) {
    s.now_s = t;
    (void)p.recommend(s);
  }
  EXPECT_FALSE(p.panicking());
  EXPECT_EQ(p.recommend(s).replicas, 1);
}

TEST(FleetLedgerTest, ScaleDownCancelsStartingThenDrainsTheCheapestReady) {
  FleetLedger l;
  l.add(0, 0, Phase::kReady);
  l.add(1, 1, Phase::kReady);
  l.add(2, 2, Phase::kReady);
  l.add(3, 3);
  l.add(4, 4);
  l.set_load(0, 3, 0);
  l.set_load(1, 1, 50);  // holds prefixes no one else has
  l.set_load(2, 1, 0);
  ScalePlan p = l.plan(1);
  EXPECT_EQ(p.cancel, (std::vector<uint32_t>{4, 3}));
  EXPECT_EQ(p.drain, (std::vector<uint32_t>{2, 1}));
  EXPECT_EQ(l.plan(7).start, 2);
  EXPECT_TRUE(l.set_phase(2, Phase::kDraining, 5));
  EXPECT_FALSE(l.set_phase(2, Phase::kReady, 6)) << "a drain is not undone by a health check";
  EXPECT_EQ(l.overdue(400, 300), (std::vector<uint32_t>{3, 4}));
}

struct FakeActuator final : Actuator {
  uint32_t next = 100;
  std::vector<std::string> log;
  Result<uint32_t> start() override {
    log.push_back("start " + std::to_string(next));
    return next++;
  }
  void drain(uint32_t id) override { log.push_back("drain " + std::to_string(id)); }
  void stop(uint32_t id) override { log.push_back("stop " + std::to_string(id)); }
};

ScalingConfig concurrency_config() {
  ScalingConfig c;
  c.policies = {"hpa"};
  c.min_replicas = 1;
  c.max_replicas = 8;
  c.metrics = {{MetricSource::kExternal, "concurrency", TargetType::kAverageValue, 4}};
  c.behavior.scale_down.stabilization_window_s = 0;
  c.ready_timeout_s = 60;
  return c;
}

// 12 concurrent at t = 1 against 4 per replica: 3 replicas wanted.
Signals overload_at_1s() {
  Signals s;
  s.now_s = 1;
  s.in_flight = 4;
  s.queue_depth = 8;
  return s;
}

TEST(ControlLoopTest, GrowsDrainsStopsWhenIdleAndReplacesWhatNeverGetsReady) {
  FakeActuator act;
  ControlLoop loop(std::move(*Autoscaler::create(concurrency_config())), act);
  loop.adopt(1, 0, Phase::kReady);
  Signals s = overload_at_1s();
  TickReport r = loop.tick(s);
  EXPECT_EQ(r.decision.desired, 3);
  EXPECT_EQ(act.log, (std::vector<std::string>{"start 100", "start 101"}));
  EXPECT_EQ(loop.ledger().count(Phase::kStarting), 2);
  // Starting replicas are capacity on the way: the same load asks for nothing more.
  s.now_s = 2;
  EXPECT_EQ(loop.tick(s).decision.desired, 3);
  EXPECT_EQ(act.log.size(), 2u);
  loop.on_ready(100, 3);
  // 101 never becomes ready: replaced after ready_timeout_s.
  s.now_s = 70;
  r = loop.tick(s);
  EXPECT_EQ(r.removed, (std::vector<uint32_t>{101}));
  EXPECT_EQ(act.log[2], "stop 101");
  EXPECT_EQ(act.log[3], "start 102");
  loop.on_ready(102, 71);
  // Load drops: drain the busy-less replicas; one still has requests and stays until idle.
  loop.on_load(1, 2);
  s.now_s = 80;
  s.in_flight = 2;
  s.queue_depth = 0;
  r = loop.tick(s);
  EXPECT_EQ(r.decision.desired, 1);
  EXPECT_EQ(loop.ledger().count(Phase::kReady), 1);
  EXPECT_EQ(loop.ledger().count(Phase::kDraining), 0) << "idle ones stop at once";
  EXPECT_NE(loop.ledger().find(1), nullptr) << "the busy replica is the one kept";
}

TEST(ControlLoopTest, DrainingReplicaStopsWhenIdleOrAtTheDrainTimeout) {
  FakeActuator act;
  ScalingConfig c = concurrency_config();
  c.drain_timeout_s = 30;
  ControlLoop loop(std::move(*Autoscaler::create(c)), act);
  loop.adopt(1, 0, Phase::kReady);
  loop.adopt(2, 0, Phase::kReady);
  loop.on_load(1, 3);
  loop.on_load(2, 1);
  Signals s;
  s.now_s = 1;
  s.in_flight = 4;  // exactly 1 replica's worth
  (void)loop.tick(s);
  EXPECT_EQ(loop.ledger().count(Phase::kDraining), 1);
  EXPECT_EQ(act.log, (std::vector<std::string>{"drain 2"}));
  EXPECT_TRUE(loop.on_idle(2, 5));
  EXPECT_EQ(act.log.back(), "stop 2");
  EXPECT_EQ(loop.ledger().find(2), nullptr);
  // A replica that never goes idle is stopped at the drain timeout.
  loop.adopt(3, 10, Phase::kReady);
  loop.on_load(3, 5);
  loop.on_load(1, 5);
  loop.begin_drain(3, 10);
  s.now_s = 20;
  (void)loop.tick(s);
  EXPECT_NE(loop.ledger().find(3), nullptr);
  s.now_s = 41;
  (void)loop.tick(s);
  EXPECT_EQ(loop.ledger().find(3), nullptr);
}

TEST(LoadWindowTest, RatesAndPercentilesOverTheWindow) {
  LoadWindow w(6);
  LoadCounters c;
  Signals s;
  w.observe(0, c, s);
  EXPECT_FALSE(s.load_fresh);
  for (int t = 1; t <= 12; ++t) {
    c.arrivals += t <= 6 ? 2 : 10;
    for (int i = 0; i < 10; ++i) c.ttft_ms.add(t <= 6 ? 100 : 1000);
    w.observe(t, c, s);
  }
  EXPECT_TRUE(s.load_fresh);
  EXPECT_NEAR(s.rps, 10, 1e-9);
  EXPECT_NEAR(s.ttft_p95_ms, 1000, 100);
  EXPECT_EQ(LatencyHistogram::bucket_of(0), 0);
  EXPECT_EQ(LatencyHistogram::bucket_of(1e12), LatencyHistogram::kBuckets - 1);
}

TEST(ScalingConfigTest, ReadsAnHpaSpecAndRefusesWithTheKey) {
  const char* yaml = R"(
policy: [hpa, kpa]
minReplicas: 2
maxReplicas: 10
metrics:
- type: Resource
  resource: {name: cpu, target: {type: Utilization, averageUtilization: 60}}
- type: Pods
  pods: {metric: {name: kv_usage}, target: {type: AverageValue, averageValue: 700m}}
- type: External
  external: {metric: {name: queue_depth}, target: {type: AverageValue, averageValue: "4"}}
behavior:
  scaleDown:
    stabilizationWindowSeconds: 60
    selectPolicy: Min
    policies: [{type: Pods, value: 1, periodSeconds: 30}]
)";
  ScalingConfig c;
  read_scaling(YAML::Load(yaml), "scaling", c);
  EXPECT_EQ(c.policies, (std::vector<std::string>{"hpa", "kpa"}));
  EXPECT_EQ(c.min_replicas, 2);
  ASSERT_EQ(c.metrics.size(), 3u);
  EXPECT_NEAR(c.metrics[1].value, 0.7, 1e-12);
  EXPECT_EQ(c.metrics[2].name, "queue_depth");
  EXPECT_EQ(c.behavior.scale_down.stabilization_window_s, 60.0);
  EXPECT_EQ(c.behavior.scale_up.policies.size(), 2u) << "scaleUp keeps the HPA defaults";
  EXPECT_TRUE(validate(c, "scaling"));
  try {
    ScalingConfig bad;
    read_scaling(YAML::Load("metrics: [{type: Pods, pods: {metric: {name: queue_depth}, target: {type: AverageValue, "
                            "averageValue: 1}}}]"),
                 "pools[0].scaling", bad);
    FAIL() << "a pool metric as Pods must be refused";
  } catch (const config::KeyError& e) {
    EXPECT_EQ(e.key, "pools[0].scaling.metrics[0].pods.metric.name");
  }
  ScalingConfig none;
  none.policies = {"hpa"};
  EXPECT_EQ(validate(none, "scaling").error().param, "scaling.metrics");
}

}  // namespace
}  // namespace tidal::scaling

namespace tidal::scaling {
namespace {

TEST(ControlLoopTest, DryRunDecidesAndReportsThePlanButChangesNothing) {
  FakeActuator act;
  ControlLoop loop(std::move(*Autoscaler::create(concurrency_config())), act);
  loop.adopt(1, 0, Phase::kReady);
  Signals s = overload_at_1s();
  TickReport r = loop.tick(s, /*actuate=*/false);
  EXPECT_EQ(r.decision.desired, 3);
  EXPECT_EQ(r.plan.start, 2) << "the plan is reported";
  EXPECT_TRUE(act.log.empty()) << "nothing is started";
  EXPECT_EQ(loop.ledger().current(), 1);
  s.now_s = 100;  // far past any ready timeout: still nothing replaced
  loop.on_unready(1, 1);
  (void)loop.tick(s, false);
  EXPECT_TRUE(act.log.empty());
  EXPECT_NE(loop.ledger().find(1), nullptr);
}

}  // namespace
}  // namespace tidal::scaling

#include "scaling/policies/predictive_policy.h"

namespace tidal::scaling {
namespace {

TEST(ForecasterTest, HoltFollowsARampAndReportsItsError) {
  ForecastConfig c;
  c.season_s = 0;
  HoltWinters f(c, 120);
  for (double t = 0; t < 3600; t += 1) f.observe(t, 1 + t / 60);  // +1 req/s per minute
  // Two minutes ahead of t = 3599: about 1 + 61.98 req/s.
  EXPECT_NEAR(f.forecast(3599, 120), 63, 2.5);
  ASSERT_GE(f.mape(), 0);
  EXPECT_LT(f.mape(), 0.1) << "a straight ramp is easy to forecast once the trend is learned";
}

TEST(ForecasterTest, LearnsADailySeasonAndForecastsTheNextRiseBeforeItComes) {
  ForecastConfig c;
  c.season_s = 86400;
  c.slot_s = 1800;
  c.bucket_s = 300;
  HoltWinters f(c, 1800);
  auto rate = [](double t) { return 10 + 8 * std::sin(2 * 3.14159265 * t / 86400); };
  for (double t = 0; t < 3 * 86400; t += 60) f.observe(t, rate(t));
  // Early morning of day 4: the rise to noon is ahead; the forecast sees it coming.
  const double now = 3 * 86400 + 3 * 3600;
  for (double t = 3 * 86400; t < now; t += 60) f.observe(t, rate(t));
  EXPECT_NEAR(f.forecast(now, 1800), rate(now + 1800), 2.0);
  EXPECT_LT(f.mape(), 0.15);
}

TEST(PredictivePolicyTest, PreScalesByTheLeadTime) {
  PredictiveConfig c;
  c.lead_s = 300;
  c.rps_per_replica = 10;
  c.forecast.season_s = 0;
  PredictivePolicy p(c);
  Signals s;
  s.ready = 1;
  int n = 0;
  for (double t = 0; t <= 1800; t += 1) {  // +1 req/s per minute
    s.now_s = t;
    s.rps = t / 60;
    n = p.recommend(s).replicas;
  }
  // Now at 30 req/s (3 replicas' worth); in 5 minutes 35: it asks for 4 already.
  EXPECT_EQ(n, 4);
}

}  // namespace
}  // namespace tidal::scaling
