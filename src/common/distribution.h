// Size distributions given on the command line or in config, e.g. token counts:
//   "128"              fixed
//   "fixed:128"        fixed
//   "uniform:64:512"   integer uniform in [64, 512]
//   "exp:200"          exponential with mean 200 (at least 1)
//   "lognormal:200:1.5" lognormal with mean 200 and coefficient of variation 1.5
#pragma once

#include <string>
#include <string_view>

#include "common/error.h"
#include "common/rng.h"

namespace tidal {

class Distribution {
 public:
  enum class Kind { kFixed, kUniform, kExponential, kLognormal };

  static Result<Distribution> parse(std::string_view spec);
  static Distribution fixed(double v) { return Distribution(Kind::kFixed, v, v); }

  // A sample rounded to an integer >= 1.
  [[nodiscard]] uint32_t sample_count(Rng& rng) const;
  [[nodiscard]] double mean() const;
  [[nodiscard]] std::string to_string() const;

 private:
  Distribution(Kind k, double a, double b);
  Kind kind_;
  double a_, b_;
  double mu_ = 0, sigma_ = 0;  // lognormal: of the underlying normal
};

}  // namespace tidal
