// The discrete-event loop of `tidal simulate` for a prepared deployment: the gateway
// queue, simulated replicas (EngineModel), spot preemptions, and the shared
// scaling::ControlLoop with the simulation as its Actuator. run_simulation
// (deployment.cpp) prepares the deployment; this runs it.
#pragma once

#include <memory>

#include "engine/model/preset.h"
#include "sim/detail/sim_router.h"
#include "scaling/autoscaler.h"
#include "sim/result.h"
#include "sim/runner.h"

namespace tidal::sim {

// `effective`: the policy file with the simulator-only sizing applied (static sizes,
// predictive rate); `capacity`: one replica's measured req/s at the SLO.
[[nodiscard]] SimResult simulate_deployment(const SimConfig& effective, Workload& workload, uint64_t seed,
                                            RunOptions options, engine::EnginePreset preset, double capacity,
                                            std::unique_ptr<detail::SimRouter> router,
                                            std::unique_ptr<scaling::Autoscaler> autoscaler);

}  // namespace tidal::sim
