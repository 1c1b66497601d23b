#include <benchmark/benchmark.h>

#include "engine/model/engine_model.h"

namespace tidal::engine {
namespace {

// One engine step with `range(0)` running sequences in decode.
void BM_EngineStep(benchmark::State& state) {
  EnginePreset p = *find_preset("llama3-8b-h100");
  EngineModel m(p, 1);
  SeqId next = 1;
  const auto seqs = static_cast<size_t>(state.range(0));
  for (auto _ : state) {
    while (m.num_running() + m.num_waiting() < seqs) m.submit(SeqRequest{next++, 64, 256, {}});
    benchmark::DoNotOptimize(m.step());
  }
}
BENCHMARK(BM_EngineStep)->RangeMultiplier(4)->Range(1, 256);

}  // namespace
}  // namespace tidal::engine
