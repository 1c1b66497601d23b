#include "scaling/behavior.h"

#include <algorithm>
#include <climits>
#include <cmath>

namespace tidal::scaling {

int Behavior::change_in_period(const std::deque<Stamped>& events, double now_s, double period_s) const {
  int n = 0;
  for (const auto& e : events) n += e.t_s > now_s - period_s ? e.value : 0;
  return n;
}

// calculateScaleUpLimitWithScalingRules / calculateScaleDownLimitWithBehaviors: each
// policy proposes a size from the replicas at its period's start; selectPolicy Max
// takes the largest change (the max proposal growing, the min shrinking), Min the
// smallest.
int Behavior::rate_limit(const ScalingRules& rules, double now_s, int current, bool up) const {
  if (rules.select == ScalingRules::Select::kDisabled) return current;
  const bool take_max = (rules.select == ScalingRules::Select::kMax) == up;
  int64_t result = take_max ? INT_MIN : INT_MAX;
  for (const auto& p : rules.policies) {
    const int64_t start = static_cast<int64_t>(current) - change_in_period(up_events_, now_s, p.period_s) +
                          change_in_period(down_events_, now_s, p.period_s);
    int64_t proposed = 0;
    if (up) {
      proposed = p.percent ? static_cast<int64_t>(std::ceil(static_cast<double>(start) * (1 + p.value / 100.0)))
                           : start + p.value;
    } else {
      proposed = p.percent ? static_cast<int64_t>(static_cast<double>(start) * (1 - p.value / 100.0)) : start - p.value;
    }
    result = take_max ? std::max(result, proposed) : std::min(result, proposed);
  }
  return static_cast<int>(std::clamp<int64_t>(result, INT_MIN, INT_MAX));
}

Normalized Behavior::normalize(double now_s, int current, int recommended) {
  // 1. Stabilization over the remembered recommendations. A fresh autoscaler remembers
  // the current size for a scale-down window (maybeInitScaleDownStabilizationWindow), so
  // it does not shrink a fleet it has just been handed.
  if (!initialized_) {
    initialized_ = true;
    recommendations_.push_back({now_s, current});
  }
  const double up_cutoff = now_s - up_window_s_;
  const double down_cutoff = now_s - down_window_s_;
  int up = recommended, down = recommended;
  for (const auto& r : recommendations_) {
    if (r.t_s > up_cutoff) up = std::min(up, r.value);
    if (r.t_s > down_cutoff) down = std::max(down, r.value);
  }
  int stabilized = current;
  if (stabilized < up) stabilized = up;
  if (stabilized > down) stabilized = down;
  recommendations_.push_back({now_s, recommended});
  const double keep = std::max(up_window_s_, down_window_s_);
  while (!recommendations_.empty() && recommendations_.front().t_s <= now_s - keep) recommendations_.pop_front();
  Normalized out{stabilized, ""};
  if (stabilized != recommended) out.limit = stabilized < recommended ? "ScaleUpStabilized" : "ScaleDownStabilized";

  // 2. Rate policies and bounds.
  if (stabilized > current) {
    const int limit = std::max(current, rate_limit(config_.scale_up, now_s, current, true));
    const int allowed = std::min(max_, limit);
    if (stabilized > allowed) out = {allowed, max_ > limit ? "ScaleUpLimit" : "TooManyReplicas"};
  } else if (stabilized < current) {
    const int limit = std::min(current, rate_limit(config_.scale_down, now_s, current, false));
    const int allowed = std::max(min_, limit);
    if (stabilized < allowed) out = {allowed, min_ < limit ? "ScaleDownLimit" : "TooFewReplicas"};
  }
  return out;
}

void Behavior::record_scale(double now_s, int from, int to) {
  if (to > from) up_events_.push_back({now_s, to - from});
  if (to < from) down_events_.push_back({now_s, from - to});
  double longest = 0;
  for (const auto& p : config_.scale_up.policies) longest = std::max(longest, p.period_s);
  for (const auto& p : config_.scale_down.policies) longest = std::max(longest, p.period_s);
  for (auto* q : {&up_events_, &down_events_}) {
    while (!q->empty() && q->front().t_s <= now_s - longest) q->pop_front();
  }
}

}  // namespace tidal::scaling
