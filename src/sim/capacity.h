// How many requests per second one replica serves while keeping decode steps (TPOT)
// under a target, from the step-time formula at the workload's mean sizes: the largest
// batch B whose step fits the target and the KV cache, then B / (output × step).
// Sizes static_peak/static_mean fleets and the "needed" line of over-provisioning.
#pragma once

#include <cstdint>
#include <vector>

#include "engine/model/preset.h"

namespace tidal::sim {

[[nodiscard]] double replica_capacity_rps(const engine::EnginePreset& preset, double mean_input, double mean_output,
                                          double tpot_target_ms);

}  // namespace tidal::sim

namespace tidal::sim {

struct RequestSize {
  uint32_t input = 1, output = 1;
};

// Measured instead of estimated: the highest Poisson arrival rate one replica (the real
// EngineModel, stepped, behind a gateway limit of `max_in_flight` requests) serves with
// at least `attainment` of requests inside the TTFT and TPOT targets, for request sizes
// drawn from `sizes` (a sample of the workload). Binary search over the rate, 600 s of
// model time per probe. Sizes the static_peak / static_mean / oracle fleets and the
// "needed" line of over-provisioning, so they account for prefill queueing, not only
// decode speed.
[[nodiscard]] double measured_capacity_rps(const engine::EnginePreset& preset, const std::vector<RequestSize>& sizes,
                                           double slo_ttft_ms, double slo_tpot_ms, uint32_t max_in_flight,
                                           double attainment = 0.99, uint64_t seed = 7);

}  // namespace tidal::sim
