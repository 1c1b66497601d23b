// Reports of simulation runs: JSON (deterministic: a seed gives byte-identical output),
// a table on stdout, one column per policy when comparing.
#pragma once

#include <string>
#include <vector>

#include "sim/result.h"

namespace tidal::sim {

[[nodiscard]] std::string to_json(const SimResult& r);
// {"runs":[...]} for --compare.
[[nodiscard]] std::string to_json(const std::vector<SimResult>& runs);
[[nodiscard]] std::string to_table(const std::vector<SimResult>& runs);
// A Markdown section: the workload as a heading, one table row per policy.
[[nodiscard]] std::string to_markdown(const std::vector<SimResult>& runs);

}  // namespace tidal::sim
