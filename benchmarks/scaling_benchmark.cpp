// One controller decision (signals → policies → behavior → plan), the work a tick
// does per pool, against fleet size. The goal: under 1 ms per pool.
#include <benchmark/benchmark.h>

#include "scaling/autoscaler.h"
#include "scaling/control_loop.h"

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

}  // namespace
}  // namespace tidal::scaling
