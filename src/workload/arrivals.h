// Open-loop arrival processes: constant rate, Poisson, or gamma with a coefficient of
// variation (CV > 1 is burstier than Poisson).
#pragma once

#include <string_view>

#include "common/error.h"
#include "common/rng.h"

namespace tidal::workload {

enum class ArrivalKind { kConstant, kPoisson, kGamma };

[[nodiscard]] Result<ArrivalKind> parse_arrival_kind(std::string_view name);

class ArrivalProcess {
 public:
  // REQUIRES: rate_per_s > 0; cv > 0 for gamma.
  ArrivalProcess(ArrivalKind kind, double rate_per_s, double cv = 1.0) : kind_(kind), rate_(rate_per_s), cv_(cv) {}
  // Seconds until the next arrival.
  [[nodiscard]] double next_gap_s(Rng& rng) const;

 private:
  ArrivalKind kind_;
  double rate_;
  double cv_;
};

}  // namespace tidal::workload
