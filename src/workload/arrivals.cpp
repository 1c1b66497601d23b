#include "workload/arrivals.h"

namespace tidal::workload {

Result<ArrivalKind> parse_arrival_kind(std::string_view name) {
  if (name == "constant") return ArrivalKind::kConstant;
  if (name == "poisson") return ArrivalKind::kPoisson;
  if (name == "gamma") return ArrivalKind::kGamma;
  return make_error(ErrorKind::kInvalidRequest, "unknown arrival process '" + std::string(name) +
                                                    "' (known: constant, poisson, gamma)");
}

double ArrivalProcess::next_gap_s(Rng& rng) const {
  const double mean = 1.0 / rate_;
  switch (kind_) {
    case ArrivalKind::kConstant: return mean;
    case ArrivalKind::kPoisson: return rng.exponential(mean);
    case ArrivalKind::kGamma: return rng.gamma_mean_cv(mean, cv_);
  }
  return mean;
}

}  // namespace tidal::workload
