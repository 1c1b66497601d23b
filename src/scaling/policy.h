// Scaling policies: pure functions of the signals (and the policy's own memory of past
// ticks), called every controller tick by scaling::Autoscaler — in `tidal serve` on the
// real clock and in `tidal simulate` on the virtual one. No I/O, no clock reads.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "common/error.h"
#include "scaling/signals.h"

namespace tidal::scaling {

class ScalingPolicy {
 public:
  virtual ~ScalingPolicy() = default;
  [[nodiscard]] virtual Recommendation recommend(const Signals& s) = 0;
  [[nodiscard]] virtual std::string_view name() const = 0;
  // What the policy has learned, as named numbers (GET /admin/scaling); most have none.
  [[nodiscard]] virtual std::vector<std::pair<std::string, double>> state() const { return {}; }
};

}  // namespace tidal::scaling
