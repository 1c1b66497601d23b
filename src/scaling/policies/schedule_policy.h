// Schedule: a floor of capacity by local time of day and day of week (peak, shoulder,
// night), e.g. to be warm before a known morning ramp. Recommends the largest
// minReplicas of the windows active now (0 outside all windows); composed with the
// other policies by max, so it only ever raises the fleet.
#pragma once

#include "scaling/config.h"
#include "scaling/policy.h"
#include "scaling/time_zone.h"

namespace tidal::scaling {

class SchedulePolicy final : public ScalingPolicy {
 public:
  SchedulePolicy(ScheduleConfig c, TimeZone tz) : c_(std::move(c)), tz_(std::move(tz)) {}
  [[nodiscard]] Recommendation recommend(const Signals& s) override;
  [[nodiscard]] std::string_view name() const override { return "schedule"; }

  // Whether `w` covers local time `t` (a window ending at or before its start runs past
  // midnight into the next day).
  [[nodiscard]] static bool active(const ScheduleWindow& w, const LocalTime& t);

 private:
  ScheduleConfig c_;
  TimeZone tz_;
};

}  // namespace tidal::scaling
