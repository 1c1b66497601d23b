// Per-replica capacity of the simulated engine, measured by running it (the analytic
// estimate from the step-time formula is scaling::replica_capacity).
#pragma once

#include <cstdint>
#include <vector>

#include "engine/model/preset.h"

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
