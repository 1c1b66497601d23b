// Scaling policies: pure functions of the signals (and the policy's own memory of its
// last decision), called every controller tick by the simulator and the controller.
#pragma once

#include <memory>
#include <string>

#include "common/error.h"
#include "scaling/signals.h"

namespace tidal::scaling {

class ScalingPolicy {
 public:
  virtual ~ScalingPolicy() = default;
  [[nodiscard]] virtual Recommendation recommend(const Signals& s) = 0;
  [[nodiscard]] virtual std::string_view name() const = 0;
};

struct ScalingConfig {
  std::string policy = "static";  // static | threshold
  int replicas = 2;               // static: fixed size (also the threshold policy's start)
  // threshold (the classic baseline): one step up when the queue or TTFT is over its
  // threshold, one step down when the fleet is idle enough; a cooldown after any change.
  double queue_high = 10;         // requests waiting in the gateway
  double ttft_high_ms = 2000;     // p95 TTFT over the last interval; 0 disables
  double utilization_low = 0.3;   // scale down below this with an empty queue
  double cooldown_s = 300;        // no change within this long after the last one
};

[[nodiscard]] Result<std::unique_ptr<ScalingPolicy>> make_scaling_policy(const ScalingConfig& config);

}  // namespace tidal::scaling
