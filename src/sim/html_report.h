// A single self-contained HTML page with the time series of one or more simulation
// runs (arrivals, replicas by state, queue depth, TTFT p95 against the SLO, cost),
// drawn with Chart.js, which is embedded (from web/node_modules at build time).
#pragma once

#include <string>
#include <vector>

#include "sim/result.h"

namespace tidal::sim {

[[nodiscard]] std::string to_html(const std::vector<SimResult>& runs);

}  // namespace tidal::sim
