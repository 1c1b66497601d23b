// Predictive scaling: forecast the arrival rate one lead time ahead (a cold start plus
// a tick, so capacity is ready when the load arrives) and ask for the replicas that rate
// needs at `rps_per_replica`. Combine it with a reactive policy (`policy: [hpa,
// predictive]`): the max of the two pre-warms on a forecast rise and still reacts to
// what the forecast missed. Time is the tick's wall clock (Unix time; the simulator's
// calendar), so the seasonal slots are hours of the week and survive a restart when the
// controller persists the forecast (`predictive.history_file`).
#pragma once

#include <memory>

#include "scaling/config.h"
#include "scaling/forecaster.h"
#include "scaling/policy.h"

namespace tidal::scaling {

class PredictivePolicy final : public ScalingPolicy {
 public:
  explicit PredictivePolicy(PredictiveConfig c)
      : c_(c), forecaster_(std::make_unique<HoltWinters>(c.forecast, c.lead_s)) {}
  [[nodiscard]] Recommendation recommend(const Signals& s) override;
  [[nodiscard]] std::string_view name() const override { return "predictive"; }
  [[nodiscard]] const Forecaster& forecaster() const { return *forecaster_; }
  [[nodiscard]] std::string save_memory() const override { return forecaster_->save(); }
  bool load_memory(const std::string& text) override { return forecaster_->load(text); }

 private:
  PredictiveConfig c_;
  std::unique_ptr<Forecaster> forecaster_;
};

}  // namespace tidal::scaling
