#include <benchmark/benchmark.h>

#include "routing/least_outstanding.h"

namespace tidal::routing {
namespace {

void BM_LeastOutstandingPick(benchmark::State& state) {
  const auto n = static_cast<size_t>(state.range(0));
  std::vector<ReplicaView> views(n);
  for (size_t i = 0; i < n; ++i) {
    views[i].id = static_cast<ReplicaId>(i);
    views[i].in_flight = static_cast<uint32_t>(i % 7);
    views[i].routable = i % 10 != 0;
    views[i].max_in_flight = 256;
  }
  LeastOutstanding policy(2, 1);
  RequestInfo req;
  for (auto _ : state) benchmark::DoNotOptimize(policy.pick(req, views, {}));
}
BENCHMARK(BM_LeastOutstandingPick)->RangeMultiplier(4)->Range(8, 512);

}  // namespace
}  // namespace tidal::routing
