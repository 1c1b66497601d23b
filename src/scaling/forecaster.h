// Load forecasting for the predictive policy. A Forecaster sees the arrival rate at
// every tick and answers "what rate at time t + h?". The first implementation is
// Holt-Winters (additive): a level and a trend over fixed-width buckets, plus a
// seasonal profile (by default 168 hourly slots: the hour of the week) learned as
// seasons pass. Pure: time is an argument.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace tidal::scaling {

struct ForecastConfig {
  double bucket_s = 60;       // rates are averaged per bucket; REQUIRES: > 0
  double alpha = 0.5;         // level smoothing, 0..1
  double beta = 0.2;          // trend smoothing, 0..1
  double gamma = 0.3;         // seasonal smoothing, 0..1
  double season_s = 604800;   // one week; 0 disables the seasonal part
  double slot_s = 3600;       // width of a seasonal slot (hour of the week)
};

class Forecaster {
 public:
  virtual ~Forecaster() = default;
  virtual void observe(double t_s, double rps) = 0;
  // The expected rate at `t_s + horizon_s` (>= 0).
  [[nodiscard]] virtual double forecast(double t_s, double horizon_s) const = 0;
  // Mean absolute percentage error of the forecasts that came due (0..); < 0: none yet.
  [[nodiscard]] virtual double mape() const = 0;
  // What it learned, as text (a version tag and numbers), to outlive a restart; load()
  // refuses text of another version or season shape.
  [[nodiscard]] virtual std::string save() const = 0;
  virtual bool load(const std::string& text) = 0;
};

class HoltWinters final : public Forecaster {
 public:
  explicit HoltWinters(ForecastConfig c, double horizon_s);
  void observe(double t_s, double rps) override;
  [[nodiscard]] double forecast(double t_s, double horizon_s) const override;
  [[nodiscard]] double mape() const override { return errors_ ? abs_pct_sum_ / errors_ : -1; }
  [[nodiscard]] std::string save() const override;
  bool load(const std::string& text) override;

 private:
  void close_bucket(double mean_rps);
  [[nodiscard]] size_t slot(double t_s) const;
  [[nodiscard]] double season_at(double t_s) const;

  ForecastConfig c_;
  double horizon_s_;            // the lead the policy asks for (MAPE is measured at it)
  double bucket_start_s_ = -1, bucket_sum_ = 0;
  int bucket_n_ = 0;
  bool has_level_ = false;
  double level_ = 0, trend_ = 0;
  std::vector<double> season_;  // additive offsets per slot
  std::vector<bool> seen_;
  struct Pending {
    double due_s, predicted;
  };
  std::vector<Pending> pending_;
  double abs_pct_sum_ = 0;
  int errors_ = 0;
};

}  // namespace tidal::scaling
