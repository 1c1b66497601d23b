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
  // Learned state that should outlive a restart (the predictive policy's forecast), as
  // text; empty: nothing to keep. load_memory() returns false on text it cannot use.
  [[nodiscard]] virtual std::string save_memory() const { return {}; }
  virtual bool load_memory(const std::string& text) { (void)text; return false; }
};

}  // namespace tidal::scaling
