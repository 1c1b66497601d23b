#include "scaling/policies/kpa_policy.h"

#include <algorithm>
#include <cmath>
#include <fmt/format.h>

namespace tidal::scaling {

double KpaPolicy::average(double now_s, double window_s) const {
  double sum = 0;
  int n = 0;
  for (auto it = samples_.rbegin(); it != samples_.rend() && it->first > now_s - window_s; ++it) {
    sum += it->second;
    ++n;
  }
  return n ? sum / n : 0.0;
}

Recommendation KpaPolicy::recommend(const Signals& s) {
  const double demand = c_.metric == "concurrency" ? s.in_flight + s.queue_depth : s.rps;
  samples_.push_back({s.now_s, demand});
  while (!samples_.empty() && samples_.front().first <= s.now_s - c_.stable_window_s) samples_.pop_front();

  const double panic_window_s = c_.stable_window_s * c_.panic_window_pct / 100.0;
  const double stable = average(s.now_s, c_.stable_window_s);
  const double panic = average(s.now_s, panic_window_s);
  const double per_replica = c_.target * c_.target_utilization;
  const double ready = std::max(1, s.ready);
  const double max_up = std::ceil(c_.max_scale_up_rate * ready);
  const double max_down = std::floor(ready / c_.max_scale_down_rate);
  const double dspc = std::ceil(stable / per_replica);
  const double dppc = std::ceil(panic / per_replica);
  const int stable_pods = static_cast<int>(std::min(std::max(dspc, max_down), max_up));
  int panic_pods = static_cast<int>(std::min(std::max(dppc, max_down), max_up));

  const bool over = dppc / ready >= c_.panic_threshold;
  if (over) {
    if (!panicking()) max_panic_ = s.ready;  // from here on, never below the fleet it panicked with
    panic_since_s_ = s.now_s;                // begin or extend
  } else if (panicking() && panic_since_s_ + c_.stable_window_s < s.now_s) {
    panic_since_s_ = -1;
    max_panic_ = 0;
  }
  if (!panicking()) {
    return {stable_pods, fmt::format("stable {:.1f} over {:.0f}s / {:.2f} per replica", stable, c_.stable_window_s, per_replica)};
  }
  panic_pods = std::max(panic_pods, stable_pods);
  max_panic_ = std::max(max_panic_, panic_pods);
  return {max_panic_, fmt::format("panic: {:.1f} over {:.0f}s / {:.2f} per replica (never shrinks)", panic, panic_window_s,
                                  per_replica)};
}

}  // namespace tidal::scaling
