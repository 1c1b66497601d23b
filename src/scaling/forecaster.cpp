#include "scaling/forecaster.h"

#include <algorithm>
#include <cmath>

namespace tidal::scaling {

HoltWinters::HoltWinters(ForecastConfig c, double horizon_s) : c_(c), horizon_s_(horizon_s) {
  if (c_.season_s > 0) {
    const auto slots = static_cast<size_t>(std::max(1.0, std::round(c_.season_s / c_.slot_s)));
    season_.assign(slots, 0.0);
    seen_.assign(slots, false);
  }
}

size_t HoltWinters::slot(double t_s) const {
  const double in_season = std::fmod(std::max(0.0, t_s), c_.season_s);
  return std::min(season_.size() - 1, static_cast<size_t>(in_season / c_.slot_s));
}

double HoltWinters::season_at(double t_s) const { return season_.empty() ? 0.0 : season_[slot(t_s)]; }

void HoltWinters::observe(double t_s, double rps) {
  if (bucket_start_s_ < 0) bucket_start_s_ = t_s;
  while (t_s >= bucket_start_s_ + c_.bucket_s) {
    if (bucket_n_ > 0) close_bucket(bucket_sum_ / bucket_n_);
    bucket_start_s_ += c_.bucket_s;
    bucket_sum_ = 0;
    bucket_n_ = 0;
  }
  bucket_sum_ += rps;
  ++bucket_n_;
}

void HoltWinters::close_bucket(double y) {
  const double t = bucket_start_s_;
  // Score the forecasts that fell due in this bucket.
  for (auto it = pending_.begin(); it != pending_.end();) {
    if (it->due_s < t + c_.bucket_s && it->due_s >= t) {
      if (y > 0) {
        abs_pct_sum_ += std::abs(it->predicted - y) / y;
        ++errors_;
      }
      it = pending_.erase(it);
    } else if (it->due_s < t) {
      it = pending_.erase(it);
    } else {
      ++it;
    }
  }
  const double s = season_at(t);
  if (!has_level_) {
    level_ = y - s;
    has_level_ = true;
  } else {
    const double prev = level_;
    level_ = c_.alpha * (y - s) + (1 - c_.alpha) * (level_ + trend_);
    trend_ = c_.beta * (level_ - prev) + (1 - c_.beta) * trend_;
  }
  if (!season_.empty()) {
    const size_t k = slot(t);
    season_[k] = seen_[k] ? c_.gamma * (y - level_) + (1 - c_.gamma) * season_[k] : 0.5 * (y - level_);
    seen_[k] = true;
  }
  // The forecast for one horizon ahead, to be scored when it comes due.
  pending_.push_back({t + c_.bucket_s + horizon_s_, forecast(t + c_.bucket_s, horizon_s_)});
  if (pending_.size() > 10000) pending_.erase(pending_.begin());
}

double HoltWinters::forecast(double t_s, double horizon_s) const {
  if (!has_level_) return bucket_n_ ? bucket_sum_ / bucket_n_ : 0.0;
  // Trend steps from the middle of the last closed bucket.
  const double last_mid = bucket_start_s_ - c_.bucket_s / 2;
  const double steps = std::max(0.0, (t_s + horizon_s - last_mid) / c_.bucket_s);
  return std::max(0.0, level_ + trend_ * steps + season_at(t_s + horizon_s));
}

}  // namespace tidal::scaling
