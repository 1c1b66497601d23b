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

int Behavior::scale_up_limit(double now_s, int current) const {
  const auto& rules = config_.scale_up;
  if (rules.select == ScalingRules::Select::kDisabled) return current;
  const bool pick_min = rules.select == ScalingRules::Select::kMin;
  int64_t result = pick_min ? INT_MAX : INT_MIN;
  for (const auto& p : rules.policies) {
    const int64_t start = static_cast<int64_t>(current) - change_in_period(up_events_, now_s, p.period_s) +
                          change_in_period(down_events_, now_s, p.period_s);
    const int64_t proposed = p.percent ? static_cast<int64_t>(std::ceil(static_cast<double>(start) * (1 + p.value / 100.0)))
                                       : start + p.value;
    result = pick_min ? std::min(result, proposed) : std::max(result, proposed);
  }
  return static_cast<int>(std::clamp<int64_t>(result, INT_MIN, INT_MAX));
}

int Behavior::scale_down_limit(double now_s, int current) const {
  const auto& rules = config_.scale_down;
  if (rules.select == ScalingRules::Select::kDisabled) return current;
  const bool pick_min_change = rules.select == ScalingRules::Select::kMin;
  int64_t result = pick_min_change ? INT_MIN : INT_MAX;
  for (const auto& p : rules.policies) {
    const int64_t start = static_cast<int64_t>(current) - change_in_period(up_events_, now_s, p.period_s) +
                          change_in_period(down_events_, now_s, p.period_s);
    const int64_t proposed = p.percent ? static_cast<int64_t>(static_cast<double>(start) * (1 - p.value / 100.0))
                                       : start - p.value;
    result = pick_min_change ? std::max(result, proposed) : std::min(result, proposed);
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
    const int limit = std::max(current, scale_up_limit(now_s, current));
    const int allowed = std::min(max_, limit);
    if (stabilized > allowed) out = {allowed, max_ > limit ? "ScaleUpLimit" : "TooManyReplicas"};
  } else if (stabilized < current) {
    const int limit = std::min(current, scale_down_limit(now_s, current));
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
