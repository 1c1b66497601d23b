#include "scaling/policies/predictive_policy.h"

#include <cmath>
#include <fmt/format.h>

namespace tidal::scaling {

Recommendation PredictivePolicy::recommend(const Signals& s) {
  const double t = s.wall_s > 0 ? s.wall_s : s.now_s;
  forecaster_->observe(t, s.rps);
  const double f = forecaster_->forecast(t, c_.lead_s);
  const int n = static_cast<int>(std::ceil(f / c_.rps_per_replica - 1e-9));
  const double mape = forecaster_->mape();
  return {n, fmt::format("forecast {:.2f} req/s in {:.0f} s / {:.2f} per replica{}", f, c_.lead_s, c_.rps_per_replica,
                         mape >= 0 ? fmt::format(" (MAPE {:.1f}%)", 100 * mape) : std::string())};
}

}  // namespace tidal::scaling
