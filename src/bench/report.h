// Per-request measurements and the run's summary, with vLLM's metric definitions:
// TTFT = start → first content chunk; TPOT = (e2e − TTFT) / (output tokens − 1), the
// first token excluded; ITL = gaps between content chunks; goodput = requests meeting
// every given SLO, per second. Non-streaming requests have TTFT = e2e.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "common/stats/summary.h"

namespace tidal::bench {

struct RequestResult {
  bool ok = false;
  std::string error;          // kind: "http_503", "connect", "timeout", "truncated", ...
  unsigned status = 0;
  double start_s = 0;
  double ttft_ms = 0;
  double e2e_ms = 0;
  std::vector<double> itl_ms;
  uint32_t output_tokens = 0;
  uint32_t input_tokens = 0;
  uint32_t cached_tokens = 0;   // usage.prompt_tokens_details.cached_tokens
  uint32_t prompt_tokens = 0;   // usage.prompt_tokens (0: not reported)
  int session = -1;             // conversation index (--conversations), else -1
  std::string reply;            // the assistant's text (conversations only)
};

struct Slo {
  double ttft_ms = 0;  // 0: not part of the SLO
  double tpot_ms = 0;
  double e2e_ms = 0;
};

struct Report {
  uint64_t requests = 0, successes = 0, errors = 0;
  std::map<std::string, uint64_t> errors_by_kind;
  double duration_s = 0, req_per_s = 0, output_tokens_per_s = 0, input_tokens_per_s = 0;
  stats::Percentiles ttft_ms, tpot_ms, itl_ms, e2e_ms;
  Slo slo;
  uint64_t slo_met = 0;
  double goodput_req_per_s = 0, slo_attainment = 0;
  uint64_t cached_tokens = 0;
  // Prefix-cache hits as the engines reported them: cached / prompt tokens over requests
  // whose usage was reported, and the same per conversation (--conversations).
  uint64_t reported_prompt_tokens = 0;
  double cache_hit_pct = 0;
  stats::Percentiles session_hit_pct;
  size_t sessions = 0;
  std::string mode;  // description of the load, for the table header
};

[[nodiscard]] Report summarize(const std::vector<RequestResult>& results, double duration_s, const Slo& slo);
[[nodiscard]] std::string to_json(const Report& r);
[[nodiscard]] std::string to_table(const Report& r);

}  // namespace tidal::bench
