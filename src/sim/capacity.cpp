#include "sim/capacity.h"

#include <deque>
#include <unordered_map>

#include "common/rng.h"
#include "engine/model/engine_model.h"

namespace tidal::sim {
namespace {

// Share of the requests arriving in [warmup, horizon - warmup] that meet both targets.
double attainment_at(const engine::EnginePreset& preset, const std::vector<RequestSize>& sizes, double rate,
                     double slo_ttft_ms, double slo_tpot_ms, uint32_t max_in_flight, uint64_t seed) {
  constexpr double kHorizonS = 600, kWarmupS = 60;
  engine::EngineModel m(preset, seed, engine::ModelOptions{.every_token = false});  // first and last tokens suffice
  engine::Step st;
  Rng rng(seed);
  struct Req {
    double arrival_s = 0, first_s = -1;
    uint32_t input = 1, output = 1;
    bool counted = false;
  };
  std::unordered_map<uint64_t, Req> live;
  std::deque<uint64_t> queue;  // the gateway's, in front of the replica's in-flight limit
  double now = 0, next = rng.exponential(1.0 / rate);
  uint64_t id = 0, counted = 0, met = 0;
  size_t k = 0;
  uint32_t in_flight = 0;
  auto admit = [&] {
    while (!queue.empty() && (max_in_flight == 0 || in_flight < max_in_flight)) {
      const uint64_t q = queue.front();
      queue.pop_front();
      const Req& r = live.at(q);
      m.submit({q, r.input, r.output, {}});
      ++in_flight;
    }
  };
  while (true) {
    while (next <= now && next < kHorizonS) {
      const RequestSize& s = sizes[k++ % sizes.size()];
      if (m.accepts(s.input, s.output)) {
        const bool count = next >= kWarmupS && next <= kHorizonS - kWarmupS;
        live[id] = Req{next, -1, s.input, s.output, count};
        counted += count ? 1 : 0;
        queue.push_back(id);
        ++id;
      }
      next += rng.exponential(1.0 / rate);
    }
    admit();
    if (!m.has_work()) {
      if (next >= kHorizonS) break;
      now = next;
      continue;
    }
    m.step(st);
    now += to_s(st.duration);
    for (const auto& ev : st.events) {
      Req& r = live.at(ev.id);
      if (ev.index == 0) r.first_s = now;
      if (!ev.finished) continue;
      const double ttft_ms = (r.first_s - r.arrival_s) * 1000;
      const double tpot_ms = r.output > 1 ? (now - r.first_s) * 1000 / (r.output - 1) : 0;
      if (r.counted && ttft_ms <= slo_ttft_ms && tpot_ms <= slo_tpot_ms) ++met;
      live.erase(ev.id);
      --in_flight;
    }
    // Hopelessly behind: the rest cannot meet the TTFT target either.
    if (now > kHorizonS * 4) break;
  }
  return counted ? static_cast<double>(met) / static_cast<double>(counted) : 0;
}

}  // namespace

double measured_capacity_rps(const engine::EnginePreset& preset, const std::vector<RequestSize>& sizes,
                             double slo_ttft_ms, double slo_tpot_ms, uint32_t max_in_flight, double attainment,
                             uint64_t seed) {
  if (sizes.empty()) return 0;
  auto ok = [&](double r) {
    return attainment_at(preset, sizes, r, slo_ttft_ms > 0 ? slo_ttft_ms : 1e18, slo_tpot_ms, max_in_flight, seed) >=
           attainment;
  };
  double lo = 0, hi = 1;
  while (ok(hi) && hi < 1e5) {
    lo = hi;
    hi *= 2;
  }
  for (int i = 0; i < 10; ++i) {
    const double mid = (lo + hi) / 2;
    if (ok(mid)) lo = mid; else hi = mid;
  }
  return lo;
}

}  // namespace tidal::sim
