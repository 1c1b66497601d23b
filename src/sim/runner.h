// The discrete-event twin of clients + gateway + fleet + autoscaler. It runs the real
// routing policies (src/routing), scaling policies (src/scaling) and engine timing model
// (src/engine/model) on a virtual clock. Replicas advance by steps around prefills and
// by analytic pure-decode stretches in between, so events grow with requests, not tokens.
//
//   auto w = Workload::scenario({.name = "spike"}, seed);
//   SimResult r = run_simulation(config, **w, seed);
#pragma once

#include "sim/result.h"
#include "sim/sim_config.h"
#include "sim/workload.h"

namespace tidal::sim {

struct RunOptions {
  double sample_interval_s = 60;  // time-series resolution
  double drain_s = 600;           // after the last arrival, let in-flight requests finish
};

// `sizing` is a second instance of the same workload, read to estimate mean sizes and
// rates (it is consumed). Errors: bad config values the factories refuse.
[[nodiscard]] Result<SimResult> run_simulation(const SimConfig& config, Workload& workload, Workload& sizing,
                                               uint64_t seed, RunOptions options = {});

}  // namespace tidal::sim
