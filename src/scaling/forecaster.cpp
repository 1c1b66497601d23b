#include "scaling/forecaster.h"

#include <algorithm>
#include <cmath>
#include <sstream>

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

std::string HoltWinters::save() const {
  std::ostringstream out;
  out.precision(17);
  out << "holt-winters-v1 " << bucket_start_s_ << ' ' << bucket_sum_ << ' ' << bucket_n_ << ' ' << has_level_ << ' '
      << level_ << ' ' << trend_ << ' ' << abs_pct_sum_ << ' ' << errors_ << ' ' << season_.size();
  for (size_t i = 0; i < season_.size(); ++i) out << ' ' << season_[i] << ' ' << seen_[i];
  return out.str();
}

bool HoltWinters::load(const std::string& text) {
  std::istringstream in(text);
  std::string tag;
  size_t slots = 0;
  HoltWinters h(c_, horizon_s_);
  in >> tag >> h.bucket_start_s_ >> h.bucket_sum_ >> h.bucket_n_ >> h.has_level_ >> h.level_ >> h.trend_ >>
      h.abs_pct_sum_ >> h.errors_ >> slots;
  if (!in || tag != "holt-winters-v1" || slots != season_.size()) return false;
  for (size_t i = 0; i < slots; ++i) {
    bool seen = false;
    in >> h.season_[i] >> seen;
    h.seen_[i] = seen;
  }
  if (!in) return false;
  *this = std::move(h);
  return true;
}

double HoltWinters::forecast(double t_s, double horizon_s) const {
  if (!has_level_) return bucket_n_ ? bucket_sum_ / bucket_n_ : 0.0;
  // Trend steps from the middle of the last closed bucket.
  const double last_mid = bucket_start_s_ - c_.bucket_s / 2;
  const double steps = std::max(0.0, (t_s + horizon_s - last_mid) / c_.bucket_s);
  return std::max(0.0, level_ + trend_ * steps + season_at(t_s + horizon_s));
}

}  // namespace tidal::scaling
