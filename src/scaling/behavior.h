// The HPA v2 `behavior`, exactly as the Kubernetes controller applies it: the
// stabilization window (the highest recommendation of the scale-down window caps a
// shrink, the lowest of the scale-up window caps a growth), then the rate policies
// (Pods / Percent per period, selectPolicy Max / Min / Disabled) against the scale
// events of each period, then minReplicas / maxReplicas. Pure: time is an argument.
#pragma once

#include <deque>
#include <string>

#include "scaling/config.h"

namespace tidal::scaling {

struct Normalized {
  int replicas = 0;
  std::string limit;  // empty, or why the recommendation was cut ("ScaleUpLimit", "ScaleDownStabilized", ...)
};

class Behavior {
 public:
  // Unset stabilization windows take `default_down_window_s` (down) and 0 (up).
  Behavior(BehaviorConfig config, int min_replicas, int max_replicas, double default_down_window_s = 300)
      : config_(std::move(config)), min_(min_replicas), max_(max_replicas),
        up_window_s_(config_.scale_up.stabilization_window_s.value_or(0)),
        down_window_s_(config_.scale_down.stabilization_window_s.value_or(default_down_window_s)) {}

  // normalizeDesiredReplicasWithBehaviors: stabilizes `recommended` (and remembers it),
  // then limits the change from `current` by the rate policies and the bounds.
  [[nodiscard]] Normalized normalize(double now_s, int current, int recommended);
  // Records a change that was actuated (the HPA's storeScaleEvent).
  void record_scale(double now_s, int from, int to);

  [[nodiscard]] int min_replicas() const { return min_; }
  [[nodiscard]] int max_replicas() const { return max_; }

 private:
  struct Stamped {
    double t_s;
    int value;
  };
  [[nodiscard]] int change_in_period(const std::deque<Stamped>& events, double now_s, double period_s) const;
  [[nodiscard]] int rate_limit(const ScalingRules& rules, double now_s, int current, bool up) const;

  BehaviorConfig config_;
  int min_, max_;
  double up_window_s_, down_window_s_;
  bool initialized_ = false;
  std::deque<Stamped> recommendations_;
  std::deque<Stamped> up_events_, down_events_;  // replicas added / removed
};

}  // namespace tidal::scaling
