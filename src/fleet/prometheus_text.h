// A parser for the Prometheus text exposition format (version 0.0.4), as engines serve
// it on /metrics: `name{label="value",...} value [timestamp]`, comments and HELP/TYPE
// lines skipped. Made for untrusted input: a malformed line is skipped, never a crash,
// and the output is bounded by the input.
//
//   for (const auto& s : parse_prometheus_text(body)) if (s.name == "vllm:num_requests_waiting") ...
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tidal::fleet {

struct MetricSample {
  std::string name;
  std::vector<std::pair<std::string, std::string>> labels;
  double value = 0;  // NaN and +/-Inf as Prometheus writes them
};

[[nodiscard]] std::vector<MetricSample> parse_prometheus_text(std::string_view text);

}  // namespace tidal::fleet
