// Hot paths of admission: the wait queue's order (push, best, remove) at a given
// backlog and tenant count, and a rate-limit reservation.
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "admission/rate_limit.h"
#include "admission/wait_queue.h"

namespace tidal::admission {
namespace {

AdmissionConfig three_tiers() {
  AdmissionConfig c;
  c.tiers = {{.name = "critical"}, {.name = "paid", .aging_s = 10}, {.name = "free", .aging_s = 10}};
  return c;
}

// One waiter joins a backlog of `range(0)` waiters spread over `range(1)` tenants, the
// best is found and leaves: the per-request cost of the queue when it is not empty.
void BM_WaitQueueCycle(benchmark::State& state) {
  const auto backlog = static_cast<uint64_t>(state.range(0));
  const auto tenants = static_cast<uint64_t>(state.range(1));
  WaitQueue q(three_tiers(), 1'000'000);
  uint64_t id = 0;
  for (; id < backlog; ++id) {
    q.push({.id = id, .tier = static_cast<uint32_t>(id % 3), .tenant = id % tenants, .enqueued_s = id * 1e-3});
  }
  double now = backlog * 1e-3;
  for (auto _ : state) {
    q.push({.id = id, .tier = static_cast<uint32_t>(id % 3), .tenant = id % tenants, .enqueued_s = now});
    ++id;
    now += 1e-3;
    auto best = q.best(now, [](uint64_t) { return true; });
    q.remove(*best);
    q.charge(0, *best % tenants, 300);
  }
}
BENCHMARK(BM_WaitQueueCycle)->Args({10, 1})->Args({1000, 1})->Args({1000, 10})->Args({1000, 100})->Args({10000, 100});

void BM_LimiterReserve(benchmark::State& state) {
  LocalLimiter lim;
  const RateLimits l{.requests_per_min = 1e9, .tokens_per_min = 1e12};
  std::vector<std::string> keys;
  for (int i = 0; i < state.range(0); ++i) keys.push_back("key:" + std::to_string(i));
  size_t i = 0;
  double now = 0;
  for (auto _ : state) {
    auto d = lim.reserve(keys[i++ % keys.size()], l, 1200, now += 1e-4);
    benchmark::DoNotOptimize(d);
  }
}
BENCHMARK(BM_LimiterReserve)->Arg(1)->Arg(1000);

}  // namespace
}  // namespace tidal::admission
