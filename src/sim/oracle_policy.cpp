#include "sim/oracle_policy.h"

#include <algorithm>
#include <cmath>
#include <fmt/format.h>

namespace tidal::sim {

scaling::Recommendation OraclePolicy::recommend(const scaling::Signals& s) {
  double peak = 0;
  const double step = std::max(1.0, lead_s_ / 200);
  for (double t = s.now_s; t <= s.now_s + lead_s_ + 1e-9; t += step) peak = std::max(peak, rate_at_(t));
  const int n = std::max(1, static_cast<int>(std::ceil(peak / capacity_rps_)));
  return {n, fmt::format("peak rate {:.2f} req/s in the next {:.0f} s / {:.2f} per replica", peak, lead_s_, capacity_rps_)};
}

}  // namespace tidal::sim
