// run_simulation: turns a policy file into a runnable deployment — samples the
// workload's sizes and rate profile, measures one replica's capacity, sizes the
// static baselines, builds the routing policy and the shared autoscaler (with the
// simulator's oracle) — then hands it to the event loop (simulation.h).
#include <algorithm>
#include <cmath>

#include "sim/capacity.h"
#include "sim/oracle_policy.h"
#include "sim/runner.h"
#include "sim/simulation.h"

namespace tidal::sim {

Result<SimResult> run_simulation(const SimConfig& config, Workload& workload, Workload& sizing, uint64_t seed,
                                 RunOptions options) {
  auto preset = engine::find_preset(config.preset);
  if (!preset) return make_error(ErrorKind::kInvalidRequest, "unknown preset '" + config.preset + "'", "preset");
  // A sample of request sizes and the rate profile, from a separate copy of the workload.
  std::vector<RequestSize> sizes;
  while (sizes.size() < 5000) {
    auto r = sizing.next();
    if (!r) break;
    sizes.push_back({r->input_tokens, r->output_tokens});
  }
  if (sizes.empty()) return make_error(ErrorKind::kInvalidRequest, "the workload has no requests");
  const double capacity = measured_capacity_rps(*preset, sizes, config.slo_ttft_ms, config.slo_tpot_ms,
                                                config.max_in_flight_per_replica);
  if (capacity <= 0) {
    return make_error(ErrorKind::kInvalidRequest, "one replica cannot meet the SLO (slo.ttft_ms, slo.tpot_ms) at this workload's sizes");
  }
  double peak = 0, mean = 0;
  size_t minutes = 0;
  for (double t = 30; t < workload.duration_s(); t += 60, ++minutes) {
    const double r = workload.rate_at(t);
    peak = std::max(peak, r);
    mean += r;
  }
  mean = minutes ? mean / static_cast<double>(minutes) : peak;

  scaling::ScalingConfig sc = config.scaling;
  if (sc.has("static_peak") || sc.has("static_mean")) {
    sc.replicas = std::max(1, static_cast<int>(std::ceil((sc.has("static_peak") ? peak : mean) / capacity)));
    sc.policies = {"static"};
  }
  const double cold = config.instance.cold_start_s >= 0 ? config.instance.cold_start_s
                                                        : default_cold_start_s(config.instance.start_mode);
  if (sc.ready_timeout_s <= cold) {
    return make_error(ErrorKind::kInvalidRequest, "scaling.ready_timeout_s must exceed the cold start", "scaling.ready_timeout_s");
  }
  // The slo policy's prior is the simulated engine, its batch limit the gateway's.
  if (sc.slo.prior.empty()) sc.slo.prior = config.preset;
  if (sc.slo.max_batch == 0) sc.slo.max_batch = config.max_in_flight_per_replica;
  // The predictive policy's replica rate defaults to the measured capacity here.
  if (sc.predictive.rps_per_replica <= 0) sc.predictive.rps_per_replica = capacity;
  std::vector<std::unique_ptr<scaling::ScalingPolicy>> extra;
  if (sc.has("oracle")) {
    std::erase(sc.policies, std::string("oracle"));
    const double lead = cold + sc.interval_s;
    extra.push_back(std::make_unique<OraclePolicy>([&workload](double t) { return workload.rate_at(t); }, capacity, lead));
  }
  auto autoscaler = scaling::Autoscaler::create(sc, std::move(extra));
  if (!autoscaler) return autoscaler.error();
  auto router = detail::SimRouter::create(config.routing, seed ^ 0x51ULL);
  if (!router) return router.error();
  SimConfig effective = config;
  effective.scaling = sc;
  if (auto ok = resolve_admission(effective); !ok) return ok.error();
  return simulate_deployment(effective, workload, seed, options, *preset, capacity, std::move(*router),
                             std::move(*autoscaler));
}

}  // namespace tidal::sim
