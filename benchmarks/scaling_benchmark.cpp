// One controller decision (signals → policies → behavior → plan), the work a tick
// does per pool, against fleet size. The goal: under 1 ms per pool.
#include <benchmark/benchmark.h>

#include <cmath>

#include "common/rng.h"
#include "engine/model/preset.h"
#include "scaling/autoscaler.h"
#include "scaling/capacity_model.h"
#include "scaling/control_loop.h"
#include "scaling/step_fit.h"

namespace tidal::scaling {
namespace {

struct NullActuator final : Actuator {
  uint32_t next = 1'000'000;
  Result<uint32_t> start() override { return next++; }
  void drain(uint32_t) override {}
  void stop(uint32_t) override {}
};

void BM_ControllerTick(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  ScalingConfig c = recommended_config();
  c.policies = {"hpa", "kpa", "threshold"};
  c.max_replicas = 2 * n;
  c.metrics.push_back({MetricSource::kPods, "kv_usage", TargetType::kAverageValue, 0.8});
  NullActuator act;
  ControlLoop loop(std::move(*Autoscaler::create(c)), act);
  for (int i = 0; i < n; ++i) loop.adopt(static_cast<uint32_t>(i), 0, Phase::kReady);
  Signals s;
  for (int i = 0; i < n; ++i) {
    ReplicaSample r;
    r.id = static_cast<uint32_t>(i);
    r.in_flight = 16;
    r.kv_usage = 0.75;
    s.replicas.push_back(r);
  }
  s.in_flight = 16.0 * n;
  s.ttft_p95_ms = 1500;
  double t = 0;
  for (auto _ : state) {
    s.now_s = t += 1;
    benchmark::DoNotOptimize(loop.tick(s));
  }
}
BENCHMARK(BM_ControllerTick)->Arg(8)->Arg(100)->Arg(1000);

// The slo policy's online calibration: one refit of the step-time model on the samples
// kept (up to 256 prefill + 256 decode), the most a tick ever adds to a decision.
void BM_StepFitRefit(benchmark::State& state) {
  const auto preset = *engine::find_preset("llama3-8b-h100");
  const auto truth = *engine::find_preset("llama3-8b-a100");
  const ReplicaShape shape{preset.max_num_seqs, preset.max_num_batched_tokens, preset.kv_capacity_tokens};
  Rng rng(5);
  std::vector<RequestSample> samples;
  for (int i = 0; i < 512; ++i) {
    RequestSample r;
    r.prompt_tokens = static_cast<uint32_t>(50 + rng.uniform() * 6000);
    r.output_tokens = static_cast<uint32_t>(20 + rng.uniform() * 400);
    r.alone = i % 2 == 0;
    r.batch = r.alone ? 1 : 1 + std::floor(rng.uniform() * 60);
    r.ttft_ms = r.alone ? prefill_ms(truth.step, shape, r.prompt_tokens) * std::exp(0.05 * rng.normal()) : 300;
    r.tpot_ms = decode_step_ms(truth.step, r.batch, r.prompt_tokens, r.output_tokens) * std::exp(0.05 * rng.normal());
    samples.push_back(r);
  }
  for (auto _ : state) {
    StepFit fit(preset.step, shape);  // from the prior each time: the slowest case
    for (const auto& r : samples) fit.add(r);
    benchmark::DoNotOptimize(fit.refit());
  }
}
BENCHMARK(BM_StepFitRefit)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace tidal::scaling
