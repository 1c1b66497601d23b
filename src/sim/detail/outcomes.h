// What happened to each simulated request, scored: completions with their TTFT, e2e
// and TPOT against the SLO, failures by kind, overall and per traffic class (when the
// traffic has more than one), written into the SimResult at the end.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/stats/summary.h"
#include "sim/result.h"
#include "sim/sim_config.h"

namespace tidal::sim::detail {

class Outcomes {
 public:
  explicit Outcomes(const SimConfig& c);

  void arrived(uint32_t cls);
  void failed(const char* kind, uint32_t cls);
  void completed(uint32_t cls, double ttft_ms, double e2e_ms, double tpot_ms, uint32_t output_tokens);
  // Summaries, counts and the per-class table into `r`.
  void fill(SimResult& r);

 private:
  struct Class {
    std::string name;
    uint64_t requests = 0, completed = 0, failed = 0, slo_met = 0;
    std::map<std::string, uint64_t> errors_by_kind;
    stats::Samples ttft_ms;
  };
  double slo_ttft_ms_, slo_e2e_ms_, slo_tpot_ms_;
  uint64_t requests_ = 0, completed_ = 0, failed_ = 0, slo_met_ = 0;
  std::map<std::string, uint64_t> errors_by_kind_;
  stats::Samples ttft_, e2e_;
  bool per_class_;
  std::vector<Class> classes_;
};

}  // namespace tidal::sim::detail
