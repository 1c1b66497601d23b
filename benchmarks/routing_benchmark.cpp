// The cost of one routing decision, per policy, at 8, 64 and 512 replicas (issue aim:
// < 2 µs at 64 replicas for load-based policies, < 10 µs for prefix_affinity), and of
// recording a dispatched prompt in the prefix index.
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "common/rng.h"
#include "routing/policy.h"

namespace tidal::routing {
namespace {

std::vector<ReplicaView> fleet(size_t n) {
  std::vector<ReplicaView> views(n);
  Rng rng(3);
  for (size_t i = 0; i < n; ++i) {
    auto& v = views[i];
    v.id = static_cast<ReplicaId>(i);
    v.in_flight = static_cast<uint32_t>(rng.below(40));
    v.routable = i % 10 != 9;
    v.max_in_flight = 256;
    v.weight = 1 + static_cast<uint32_t>(i % 3);
    v.engine_waiting = static_cast<uint32_t>(rng.below(5));
    v.engine_running = v.in_flight;
    v.kv_usage = rng.uniform();
    v.slots_total = 64;
    v.slots_busy = v.in_flight;
    v.in_flight_at_scrape = v.in_flight;
    v.kv_capacity_tokens = 400'000;
    v.tokens_in_flight = v.in_flight * 1200ull;
    v.prefill_pending = rng.below(4000);
    v.latency_ms = 20 + rng.uniform() * 20;
    v.latency_at = TimePoint{} + std::chrono::seconds(1);
  }
  return views;
}

// Conversations of `blocks` prefix blocks each, spread over the fleet's replicas.
std::vector<std::vector<uint64_t>> conversations(size_t count, size_t blocks) {
  std::vector<std::vector<uint64_t>> out(count);
  for (size_t c = 0; c < count; ++c) {
    out[c].push_back(0xabcdef);  // a shared system prompt block
    for (size_t b = 1; b < blocks; ++b) out[c].push_back((c + 1) * 1'000'003 + b);
  }
  return out;
}

void run_policy(benchmark::State& state, RoutingConfig config) {
  const auto n = static_cast<size_t>(state.range(0));
  auto views = fleet(n);
  SharedState shared(config);
  auto policy = std::move(*make_policy(config, shared, 1));
  auto convs = conversations(256, 128);  // 2,048-token histories
  if (shared.prefix) {
    for (size_t c = 0; c < convs.size(); ++c) {
      RequestInfo r;
      r.prefix = convs[c];
      r.prompt_tokens = 2048;
      (void)policy->on_dispatch(static_cast<ReplicaId>(c % n), r);
    }
  }
  RequestInfo req;
  req.prompt_tokens = 2048;
  req.max_tokens = 256;
  req.session = "user-42";
  size_t k = 0;
  for (auto _ : state) {
    req.prefix = convs[k++ % convs.size()];
    benchmark::DoNotOptimize(policy->pick(req, views, TimePoint{} + std::chrono::seconds(2)));
  }
}

RoutingConfig named(const char* name) {
  RoutingConfig c;
  c.policy = name;
  if (c.policy == "composite") c.scorers = {{"prefix", 2}, {"load", 1}, {"kv", 1}, {"latency", 1}};
  return c;
}

void BM_Pick_LeastOutstandingP2C(benchmark::State& s) { run_policy(s, named("least_outstanding")); }
void BM_Pick_LeastOutstandingAll(benchmark::State& s) {
  RoutingConfig c = named("least_outstanding");
  c.choices = kAllChoices;
  run_policy(s, c);
}
void BM_Pick_RoundRobin(benchmark::State& s) { run_policy(s, named("round_robin")); }
void BM_Pick_Random(benchmark::State& s) { run_policy(s, named("random")); }
void BM_Pick_Weighted(benchmark::State& s) { run_policy(s, named("weighted")); }
void BM_Pick_PeakEwma(benchmark::State& s) { run_policy(s, named("peak_ewma")); }
void BM_Pick_TokenBudget(benchmark::State& s) { run_policy(s, named("token_budget")); }
void BM_Pick_Slots(benchmark::State& s) { run_policy(s, named("slots")); }
void BM_Pick_KvUsage(benchmark::State& s) { run_policy(s, named("kv_usage")); }
void BM_Pick_Session(benchmark::State& s) { run_policy(s, named("session")); }
void BM_Pick_PrefixAffinity(benchmark::State& s) { run_policy(s, named("prefix_affinity")); }
void BM_Pick_Composite(benchmark::State& s) { run_policy(s, named("composite")); }

BENCHMARK(BM_Pick_LeastOutstandingP2C)->Arg(8)->Arg(64)->Arg(512);
BENCHMARK(BM_Pick_LeastOutstandingAll)->Arg(8)->Arg(64)->Arg(512);
BENCHMARK(BM_Pick_RoundRobin)->Arg(8)->Arg(64)->Arg(512);
BENCHMARK(BM_Pick_Random)->Arg(8)->Arg(64)->Arg(512);
BENCHMARK(BM_Pick_Weighted)->Arg(8)->Arg(64)->Arg(512);
BENCHMARK(BM_Pick_PeakEwma)->Arg(8)->Arg(64)->Arg(512);
BENCHMARK(BM_Pick_TokenBudget)->Arg(8)->Arg(64)->Arg(512);
BENCHMARK(BM_Pick_Slots)->Arg(8)->Arg(64)->Arg(512);
BENCHMARK(BM_Pick_KvUsage)->Arg(8)->Arg(64)->Arg(512);
BENCHMARK(BM_Pick_Session)->Arg(8)->Arg(64)->Arg(512);
BENCHMARK(BM_Pick_PrefixAffinity)->Arg(8)->Arg(64)->Arg(512);
BENCHMARK(BM_Pick_Composite)->Arg(8)->Arg(64)->Arg(512);

// Recording a dispatched 2,048-token prompt (128 blocks) whose history is mostly held.
void BM_PrefixIndexRecord(benchmark::State& state) {
  PrefixIndex index(8192);
  auto convs = conversations(256, 128);
  for (size_t c = 0; c < convs.size(); ++c) index.record(static_cast<ReplicaId>(c % 64), convs[c]);
  size_t k = 0;
  for (auto _ : state) {
    const size_t c = k++ % convs.size();
    benchmark::DoNotOptimize(index.record(static_cast<ReplicaId>(c % 64), convs[c]));
  }
}
BENCHMARK(BM_PrefixIndexRecord);

}  // namespace
}  // namespace tidal::routing
