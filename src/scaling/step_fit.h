// Online self-calibration of the engine step-time model (engine/model/step_time.h:
// step = sqrt(W^2 + (c1 N)^2) + c3 C) from what the gateway observes of each finished
// request — no profiling run. Two kinds of observation identify the parameters:
//   - a request that found its replica idle: its TTFT is its prompt's prefill alone
//     (W and c1 from the spread of prompt lengths);
//   - a streamed request with several output tokens: its TPOT is the mean decode step
//     at the batch it shared (mean in flight on its replica), which adds c3.
// The fit is a maximum a posteriori estimate: relative residuals of the latest samples
// plus a log-normal prior centred on a preset (the only use of the preset), solved by
// Gauss-Newton on log-parameters. Per pool, i.e. per instance type: a pool of mixed
// hardware would get the average. Pure: no clock, no I/O.
#pragma once

#include <cstdint>
#include <deque>
#include <vector>

#include "engine/model/preset.h"
#include "scaling/capacity_model.h"
#include "scaling/signals.h"

namespace tidal::scaling {

struct FitResult {
  engine::StepTimeParams params;
  double rel_error = 0;     // RMS relative error of the fitted model on its samples
  double prior_error = 0;   // the same for the prior's parameters (what the fit improved on)
  size_t prefill_samples = 0, decode_samples = 0;
};

class StepFit {
 public:
  // `prior_weight` = (relative noise of a sample / prior's spread in log space)^2: 0.05
  // is ~10% noise per observation and a prior trusted within a factor ~1.6. It decides
  // alone only while samples cannot (none, or all alike). `max_samples` of each kind are kept.
  StepFit(engine::StepTimeParams prior, ReplicaShape shape, double prior_weight = 0.05, size_t max_samples = 256)
      : prior_(prior), shape_(shape), prior_weight_(prior_weight), max_samples_(max_samples) {
    result_.params = prior;
  }

  // Records a finished request; false when it says nothing about the model. A decode
  // step is shared with the other requests of the batch, so its observation is modelled
  // with the workload's mean sizes (mean_in, mean_out, E[out^2]) when given (> 0).
  bool add(const RequestSample& s, double mean_in = 0, double mean_out = 0, double out_sq = 0);
  // Refits on the samples kept (a few Gauss-Newton iterations); cheap enough each tick.
  const FitResult& refit();
  [[nodiscard]] const FitResult& result() const { return result_; }
  [[nodiscard]] const ReplicaShape& shape() const { return shape_; }
  [[nodiscard]] size_t samples() const { return prefill_.size() + decode_.size(); }

 private:
  struct Obs {
    bool prefill;
    double in, out, out_sq, batch, y;  // y: observed TTFT (prefill) or TPOT (decode), ms
  };
  [[nodiscard]] double predict(const engine::StepTimeParams& p, const Obs& o) const;
  [[nodiscard]] double rms_rel_error(const engine::StepTimeParams& p) const;

  engine::StepTimeParams prior_;
  ReplicaShape shape_;
  double prior_weight_;
  size_t max_samples_;
  std::deque<Obs> prefill_, decode_;
  FitResult result_;
};

}  // namespace tidal::scaling
