// How many requests per second one replica serves while keeping decode steps (TPOT)
// under a target, from the step-time formula at the workload's mean sizes: the largest
// batch B whose step fits the target and the KV cache, then B / (output × step).
// Sizes static_peak/static_mean fleets and the "needed" line of over-provisioning.
#pragma once

#include "engine/model/preset.h"

namespace tidal::sim {

[[nodiscard]] double replica_capacity_rps(const engine::EnginePreset& preset, double mean_input, double mean_output,
                                          double tpot_target_ms);

}  // namespace tidal::sim
