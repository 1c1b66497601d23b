// Knative's KPA (burst policy): the demand signal (concurrency in flight + queued, or
// arrivals/s) averaged over a stable window (60 s) and a panic window (6 s). Desired =
// ceil(window average / (target x utilization)), limited to max scale-up / scale-down
// rates. It panics when the panic-window demand reaches panic_threshold x the ready
// replicas, stays in panic until a full stable window passes without that, and never
// shrinks while panicking.
#pragma once

#include <deque>

#include "scaling/config.h"
#include "scaling/policy.h"

namespace tidal::scaling {

class KpaPolicy final : public ScalingPolicy {
 public:
  explicit KpaPolicy(KpaConfig c) : c_(std::move(c)) {}
  [[nodiscard]] Recommendation recommend(const Signals& s) override;
  [[nodiscard]] std::string_view name() const override { return "kpa"; }
  [[nodiscard]] bool panicking() const { return panic_since_s_ >= 0; }

 private:
  [[nodiscard]] double average(double now_s, double window_s) const;

  KpaConfig c_;
  std::deque<std::pair<double, double>> samples_;  // (t, demand)
  double panic_since_s_ = -1;  // last time over the threshold; < 0: not panicking
  int max_panic_ = 0;
};

}  // namespace tidal::scaling
