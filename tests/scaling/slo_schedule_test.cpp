// The slo policy and what it stands on (capacity model, online step-time fit), and the
// schedule policy with real time zones.
#include <gtest/gtest.h>

#include <yaml-cpp/yaml.h>

#include <cmath>
#include <deque>

#include "common/config/yaml_reader.h"
#include "common/rng.h"
#include "engine/model/preset.h"
#include "scaling/autoscaler.h"
#include "scaling/capacity_model.h"
#include "scaling/policies/schedule_policy.h"
#include "scaling/policies/slo_policy.h"
#include "scaling/step_fit.h"

namespace tidal::scaling {
namespace {

const engine::EnginePreset& preset(const char* name) {
  static std::deque<engine::EnginePreset> kept;  // references stay valid as it grows
  kept.push_back(*engine::find_preset(name));
  return kept.back();
}

ReplicaShape shape_of(const engine::EnginePreset& p) {
  return ReplicaShape{p.max_num_seqs, p.max_num_batched_tokens, p.kv_capacity_tokens};
}

// ---- capacity model ----

TEST(CapacityModelTest, BiggerHardwareServesMoreAndTargetsBelowTheFloorServeNothing) {
  const auto& h100 = preset("llama3-8b-h100");
  const auto& a100 = preset("llama3-8b-a100");
  const double fast = replica_capacity(h100.step, shape_of(h100), 1000, 200, 50, 0).rps;
  const double slow = replica_capacity(a100.step, shape_of(a100), 1000, 200, 50, 0).rps;
  EXPECT_GT(fast, slow);
  EXPECT_GT(slow, 0);
  // A TPOT target below the step's weight floor W cannot be met at any batch.
  EXPECT_EQ(replica_capacity(h100.step, shape_of(h100), 1000, 200, h100.step.weight_floor_ms * 0.9, 0).rps, 0);
}

TEST(CapacityModelTest, ATighterTargetMeansLessCapacityAndTheEstimateMeetsBothTargets) {
  const auto& p = preset("llama3-8b-h100");
  const CapacityEstimate loose = replica_capacity(p.step, shape_of(p), 2000, 300, 100, 2000);
  const CapacityEstimate tight_tpot = replica_capacity(p.step, shape_of(p), 2000, 300, 30, 2000);
  const CapacityEstimate tight_ttft = replica_capacity(p.step, shape_of(p), 2000, 300, 100, 80);
  EXPECT_LT(tight_tpot.rps, loose.rps);
  EXPECT_LT(tight_ttft.rps, loose.rps);
  EXPECT_LE(loose.step_ms, 100);
  EXPECT_LE(loose.ttft_ms, 2000);
  EXPECT_LE(tight_tpot.step_ms, 30);
  EXPECT_LE(tight_ttft.ttft_ms, 80);
  // Little's law: rps = batch / (out x step).
  EXPECT_NEAR(loose.rps, loose.batch / (300 * loose.step_ms / 1000), 1e-9);
}

TEST(CapacityModelTest, APromptLongerThanTheBudgetTakesSeveralChunks) {
  const auto& p = preset("llama3-8b-h100");
  const ReplicaShape s = shape_of(p);
  EXPECT_NEAR(prefill_ms(p.step, s, 2.0 * s.max_batched_tokens), 2 * prefill_ms(p.step, s, s.max_batched_tokens), 1e-9);
}

// ---- online fit ----

// Samples a replica with `truth` would produce: idle-replica TTFTs and loaded TPOTs, with
// lognormal noise like the engine's step jitter.
std::vector<RequestSample> samples_from(const engine::StepTimeParams& truth, const ReplicaShape& shape, int n,
                                        uint64_t seed) {
  Rng rng(seed);
  std::vector<RequestSample> out;
  for (int i = 0; i < n; ++i) {
    RequestSample s;
    s.prompt_tokens = static_cast<uint32_t>(50 + rng.uniform() * 6000);
    s.output_tokens = static_cast<uint32_t>(20 + rng.uniform() * 400);
    s.alone = i % 3 == 0;
    s.batch = s.alone ? 1 : 1 + std::floor(rng.uniform() * 60);
    const double noise = std::exp(0.05 * rng.normal());
    s.ttft_ms = (s.alone ? prefill_ms(truth, shape, s.prompt_tokens) : 500) * noise;
    s.tpot_ms = decode_step_ms(truth, s.batch, s.prompt_tokens, s.output_tokens) * std::exp(0.05 * rng.normal());
    out.push_back(s);
  }
  return out;
}

TEST(StepFitTest, RecoversAnotherEnginesParametersFromItsRequests) {
  // The prior is an H100; the replicas are really A100s (W, c1, c3 all differ).
  const auto& prior = preset("llama3-8b-h100");
  const auto& truth = preset("llama3-8b-a100");
  StepFit fit(prior.step, shape_of(prior));
  for (const auto& s : samples_from(truth.step, shape_of(prior), 400, 3)) fit.add(s);
  const FitResult& r = fit.refit();
  EXPECT_NEAR(r.params.weight_floor_ms, truth.step.weight_floor_ms, 0.1 * truth.step.weight_floor_ms);
  EXPECT_NEAR(r.params.per_token_ms, truth.step.per_token_ms, 0.1 * truth.step.per_token_ms);
  // c3 trades off against c1 (both grow with the prompt): judged by its predictions.
  for (double batch : {1.0, 8.0, 32.0, 128.0}) {
    for (double in : {200.0, 2000.0, 6000.0}) {
      const double want = decode_step_ms(truth.step, batch, in, 200), got = decode_step_ms(r.params, batch, in, 200);
      EXPECT_NEAR(got, want, 0.05 * want) << "batch " << batch << " prompt " << in;
    }
  }
  EXPECT_LT(r.rel_error, 0.1);
  EXPECT_GT(r.prior_error, 2 * r.rel_error);
  EXPECT_EQ(r.prefill_samples + r.decode_samples, 256u + 134u);  // decode samples capped at 256
}

TEST(StepFitTest, WithoutSamplesItIsThePriorAndUselessSamplesAreIgnored) {
  const auto& prior = preset("llama3-8b-h100");
  StepFit fit(prior.step, shape_of(prior));
  EXPECT_FALSE(fit.add(RequestSample{}));                                  // no prompt, no time
  EXPECT_FALSE(fit.add(RequestSample{100, 1, 50, 0, 3, false}));           // loaded TTFT, no TPOT
  const FitResult& r = fit.refit();
  EXPECT_EQ(r.params.weight_floor_ms, prior.step.weight_floor_ms);
  EXPECT_EQ(r.params.per_token_ms, prior.step.per_token_ms);
}

// ---- slo policy ----

Signals load(double t, double rps, int ready, double queue = 0, std::vector<RequestSample> finished = {}) {
  Signals s;
  s.now_s = t;
  s.rps = rps;
  s.ready = ready;
  s.queue_depth = queue;
  s.in_flight = rps;  // about one second per request in flight
  s.finished = std::move(finished);
  return s;
}

std::vector<RequestSample> sized(int n, uint32_t in, uint32_t out) {
  return std::vector<RequestSample>(static_cast<size_t>(n), RequestSample{in, out, 0, 0, 1, false});
}

TEST(SloPolicyTest, SizesTheFleetFromTheArrivalRateAndTheModelsCapacity) {
  const auto& p = preset("llama3-8b-h100");
  SloConfig c;
  c.calibrate = false;
  c.headroom = 1;
  SloPolicy policy(c, p);
  (void)policy.recommend(load(0, 0, 1, 0, sized(50, 1000, 200)));
  const double per_replica = replica_capacity(p.step, shape_of(p), 1000, 200, c.tpot_ms, c.ttft_p95_ms).rps;
  ASSERT_GT(per_replica, 0);
  for (double rps : {0.5 * per_replica, 2.5 * per_replica, 7.2 * per_replica}) {
    const Recommendation r = policy.recommend(load(1, rps, 2));
    EXPECT_EQ(r.replicas, static_cast<int>(std::ceil(rps / per_replica))) << r.reason;
    EXPECT_NE(r.reason.find("req/s/replica"), std::string::npos);
  }
  // A backlog is planned to drain within backlog_drain_s on top of the arrivals.
  const Recommendation backlog = policy.recommend(load(2, 2.5 * per_replica, 3, 10 * per_replica * c.backlog_drain_s));
  EXPECT_EQ(backlog.replicas, static_cast<int>(std::ceil(12.5)));
  // Idle: nothing needed.
  EXPECT_EQ(policy.recommend(load(3, 0, 3)).replicas, 0);
}

TEST(SloPolicyTest, NeverShrinksOnStaleLoadOrBeforeKnowingRequestSizes) {
  SloPolicy policy(SloConfig{}, preset("llama3-8b-h100"));
  const Recommendation unknown = policy.recommend(load(0, 5, 4));
  EXPECT_TRUE(unknown.hold_down);
  EXPECT_GE(unknown.replicas, 4);
  (void)policy.recommend(load(1, 0, 4, 0, sized(20, 500, 100)));
  Signals stale = load(2, 0.1, 4);
  stale.load_fresh = false;
  EXPECT_TRUE(policy.recommend(stale).hold_down);
}

TEST(SloPolicyTest, ReplicasSlowerThanThePriorRaiseTheFleet) {
  const auto& p = preset("llama3-8b-h100");
  SloConfig c;
  c.headroom = 1;
  SloPolicy calibrated(c, p);
  SloConfig fixed_c = c;
  fixed_c.calibrate = false;
  SloPolicy fixed(fixed_c, p);
  // The replicas are 1.6x slower than the prior at every batch and prompt size.
  for (int t = 0; t < 40; ++t) {
    std::vector<RequestSample> fin;
    for (int i = 0; i < 20; ++i) {
      RequestSample s{1000, 200, 0, 0, 1.0 + 3 * i, i == 0};
      s.ttft_ms = 1.6 * prefill_ms(p.step, shape_of(p), 1000);
      s.tpot_ms = 1.6 * decode_step_ms(p.step, s.batch, 1000, 200);
      fin.push_back(s);
    }
    (void)calibrated.recommend(load(t, 50, 4, 0, fin));
    (void)fixed.recommend(load(t, 50, 4, 0, fin));
  }
  EXPECT_NEAR(calibrated.k_tpot(), 1.0, 0.1);  // the fit explains the slowness; nothing left to correct
  EXPECT_NEAR(calibrated.fit().params.weight_floor_ms, 1.6 * p.step.weight_floor_ms, 0.15 * p.step.weight_floor_ms);
  const Recommendation cal = calibrated.recommend(load(50, 50, 4)), fix = fixed.recommend(load(50, 50, 4));
  EXPECT_GT(cal.replicas, fix.replicas) << cal.reason << "\n" << fix.reason;
}

TEST(SloPolicyTest, TtftCorrectionLearnsOnlyWithoutAGatewayQueue) {
  const auto& p = preset("llama3-8b-h100");
  SloPolicy policy(SloConfig{}, p);
  for (int t = 0; t < 20; ++t) {
    Signals s = load(t, 10, 2, /*queue=*/50, sized(10, 1000, 200));
    s.ttft_p95_ms = 30'000;  // queueing in the gateway: the backlog term's job
    (void)policy.recommend(s);
  }
  EXPECT_DOUBLE_EQ(policy.k_ttft(), 1.0);
  for (int t = 20; t < 40; ++t) {
    Signals s = load(t, 10, 2, 0, sized(10, 1000, 200));
    s.ttft_p95_ms = 5'000;
    (void)policy.recommend(s);
  }
  EXPECT_GT(policy.k_ttft(), 1.5);
}

TEST(SloPolicyTest, ExposesWhatItLearnedForAdminScaling) {
  SloPolicy policy(SloConfig{}, preset("llama3-8b-h100"));
  (void)policy.recommend(load(0, 1, 1, 0, samples_from(preset("llama3-8b-a100").step, shape_of(preset("llama3-8b-h100")), 60, 9)));
  const auto learned = policy.state();
  std::map<std::string, double> st(learned.begin(), learned.end());
  for (const char* k : {"fit_weight_floor_ms", "fit_per_token_ms", "fit_per_context_token_us", "fit_rel_error",
                        "prior_rel_error", "k_tpot", "k_ttft", "capacity_rps_per_replica"}) {
    EXPECT_TRUE(st.count(k)) << k;
  }
  EXPECT_EQ(st["fit_prefill_samples"] + st["fit_decode_samples"], 80);
  EXPECT_LT(st["fit_rel_error"], st["prior_rel_error"]);
}

// ---- schedule policy ----

ScalingConfig read_yaml(const std::string& text) {
  ScalingConfig c;
  read_scaling(YAML::Load(text), "scaling", c);
  return c;
}

double utc(int y, unsigned m, unsigned d, int hh, int mm) {
  std::tm tm{};
  tm.tm_year = y - 1900;
  tm.tm_mon = static_cast<int>(m) - 1;
  tm.tm_mday = static_cast<int>(d);
  tm.tm_hour = hh;
  tm.tm_min = mm;
  return static_cast<double>(timegm(&tm));
}

TEST(SchedulePolicyTest, WindowsFollowLocalTimeAcrossDaylightSaving) {
  const ScalingConfig c = read_yaml(R"(
policy: schedule
maxReplicas: 10
schedule:
  timezone: Europe/Paris
  windows:
  - {name: peak, days: weekdays, start: "08:00", end: "20:00", minReplicas: 6}
  - {name: night, days: [fri], start: "22:00", end: "06:00", minReplicas: 2}
)");
  ASSERT_TRUE(validate(c, "scaling"));
  auto a = Autoscaler::create(c);
  ASSERT_TRUE(a) << a.error().message;
  auto p = make_scaling_policy("schedule", c);
  ASSERT_TRUE(p);
  auto at = [&](double wall) {
    Signals s;
    s.wall_s = wall;
    return (*p)->recommend(s);
  };
  // Monday 2024-01-01 08:30 in Paris is 07:30 UTC in winter (CET, +1) ...
  EXPECT_EQ(at(utc(2024, 1, 1, 7, 30)).replicas, 6);
  EXPECT_EQ(at(utc(2024, 1, 1, 6, 30)).replicas, 0);
  // ... and 06:30 UTC in summer (CEST, +2).
  EXPECT_EQ(at(utc(2024, 7, 1, 6, 30)).replicas, 6);
  EXPECT_NE(at(utc(2024, 7, 1, 6, 30)).reason.find("'peak'"), std::string::npos);
  // Saturday is not a weekday; Friday night's window runs past midnight into it.
  EXPECT_EQ(at(utc(2024, 1, 6, 12, 0)).replicas, 0);
  EXPECT_EQ(at(utc(2024, 1, 6, 2, 0)).replicas, 2);   // Sat 03:00 Paris
  EXPECT_EQ(at(utc(2024, 1, 6, 5, 30)).replicas, 0);  // Sat 06:30 Paris
}

TEST(SchedulePolicyTest, BadWindowsAndZonesAreNamedInTheError) {
  auto key_of = [](const std::string& text) -> std::string {
    try {
      const ScalingConfig c = read_yaml(text);
      auto ok = validate(c, "scaling");
      return ok ? "" : ok.error().param + ": " + ok.error().message;
    } catch (const config::KeyError& e) {
      return e.key + ": " + e.what();
    }
  };
  EXPECT_EQ(key_of("policy: schedule\nschedule: {timezone: Mars/Olympus, windows: [{start: '01:00', end: '02:00', minReplicas: 1}]}")
                .rfind("scaling.schedule.timezone: unknown time zone 'Mars/Olympus'", 0),
            0u);
  EXPECT_EQ(key_of("policy: schedule\nschedule: {windows: [{start: '25:00', end: '02:00', minReplicas: 1}]}")
                .rfind("scaling.schedule.windows[0].start", 0),
            0u);
  EXPECT_EQ(key_of("policy: schedule\nschedule: {windows: [{days: [someday], start: '01:00', end: '02:00', minReplicas: 1}]}")
                .rfind("scaling.schedule.windows[0].days", 0),
            0u);
  EXPECT_EQ(key_of("policy: schedule\nmaxReplicas: 4\nschedule: {windows: [{start: '01:00', end: '02:00', minReplicas: 9}]}"),
            "scaling.schedule.windows[0].minReplicas: must be <= maxReplicas");
  EXPECT_EQ(key_of("policy: schedule"), "scaling.schedule.windows: the schedule policy needs at least one window");
  EXPECT_EQ(key_of("policy: slo\nslo: {prior: no-such-gpu}").rfind("scaling.slo.prior: unknown engine preset 'no-such-gpu'", 0), 0u);
  EXPECT_EQ(key_of("policy: slo\nslo: {headroom: 1.5}"), "scaling.slo.headroom: must be in (0, 1]");
}

}  // namespace
}  // namespace tidal::scaling
