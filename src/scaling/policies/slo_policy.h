// SLO-driven (Dynamo SLA-planner style, with online calibration): the replicas needed to
// keep P95 TTFT and TPOT under their targets at the arrival rate and mean request
// sizes now observed.
//   capacity per replica = scaling::replica_capacity(fitted step model, mean sizes,
//                          TPOT target / k_tpot, TTFT target / k_ttft) x headroom
//   desired = ceil((arrivals/s + queued / backlog_drain_s) / capacity)
// The step model is refitted every 10 s from finished requests (StepFit, the preset only
// as its prior), so no profiling run is needed. k_tpot and k_ttft are correction factors
// (observed / predicted latency, smoothed, bounded) for what the model misses — P95 vs
// mean, prefill interference, network; k_ttft learns only while the gateway queue is
// empty (queueing there is the backlog term's job). No arrivals yet and no queue: no
// opinion below the current size while load is stale.
#pragma once

#include <optional>

#include "scaling/config.h"
#include "scaling/policy.h"
#include "scaling/step_fit.h"

namespace tidal::scaling {

class SloPolicy final : public ScalingPolicy {
 public:
  // `tolerance`: the HPA's — no change while demand is within it of the current fleet's capacity.
  SloPolicy(SloConfig c, const engine::EnginePreset& prior, double tolerance = 0.1);
  [[nodiscard]] Recommendation recommend(const Signals& s) override;
  [[nodiscard]] std::string_view name() const override { return "slo"; }
  [[nodiscard]] std::vector<std::pair<std::string, double>> state() const override;

  [[nodiscard]] const FitResult& fit() const { return fit_.result(); }
  [[nodiscard]] double k_tpot() const { return k_tpot_; }
  [[nodiscard]] double k_ttft() const { return k_ttft_; }

 private:
  SloConfig c_;
  StepFit fit_;
  double mean_in_ = 0, mean_out_ = 0, out_sq_ = 0;  // smoothed over finished requests; 0: none yet
  double k_tpot_ = 1, k_ttft_ = 1;
  double last_fit_s_ = -1;
  CapacityEstimate last_;
  double tolerance_;
};

}  // namespace tidal::scaling
