#include "common/distribution.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <vector>

namespace tidal {
namespace {

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (true) {
    const size_t pos = s.find(sep, start);
    out.push_back(s.substr(start, pos == std::string_view::npos ? std::string_view::npos : pos - start));
    if (pos == std::string_view::npos) break;
    start = pos + 1;
  }
  return out;
}

bool parse_double(std::string_view s, double& out) {
  if (s.empty()) return false;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && ptr == s.data() + s.size() && std::isfinite(out);
}

}  // namespace

Result<Distribution> Distribution::parse(std::string_view spec) {
  auto bad = [&](std::string why) {
    return make_error(ErrorKind::kInvalidRequest, fmt::format("bad distribution '{}': {}", spec, why));
  };
  const auto parts = split(spec, ':');
  std::vector<double> nums;
  const size_t first = parts.size() == 1 ? 0 : 1;
  for (size_t i = first; i < parts.size(); ++i) {
    double v = 0;
    if (!parse_double(parts[i], v)) return bad(fmt::format("'{}' is not a number", parts[i]));
    if (v < 0) return bad("values must be >= 0");
    nums.push_back(v);
  }
  const std::string_view kind = parts.size() == 1 ? "fixed" : parts[0];
  if (kind == "fixed" && nums.size() == 1) return Distribution(Kind::kFixed, nums[0], nums[0]);
  if (kind == "uniform" && nums.size() == 2) {
    if (nums[0] > nums[1]) return bad("uniform needs min <= max");
    return Distribution(Kind::kUniform, nums[0], nums[1]);
  }
  if (kind == "exp" && nums.size() == 1) {
    if (nums[0] <= 0) return bad("exp needs a mean > 0");
    return Distribution(Kind::kExponential, nums[0], 0);
  }
  if (kind == "lognormal" && nums.size() == 2) {
    if (nums[0] <= 0 || nums[1] <= 0) return bad("lognormal needs mean > 0 and cv > 0");
    return Distribution(Kind::kLognormal, nums[0], nums[1]);
  }
  return bad("expected N, fixed:N, uniform:MIN:MAX, exp:MEAN or lognormal:MEAN:CV");
}

Distribution::Distribution(Kind k, double a, double b) : kind_(k), a_(a), b_(b) {
  if (k == Kind::kLognormal) {
    const double sigma2 = std::log1p(b_ * b_);
    mu_ = std::log(a_) - sigma2 / 2.0;
    sigma_ = std::sqrt(sigma2);
  }
}

uint32_t Distribution::sample_count(Rng& rng) const {
  double v = a_;
  switch (kind_) {
    case Kind::kFixed: break;
    case Kind::kUniform: v = a_ + static_cast<double>(rng.below(static_cast<uint64_t>(b_ - a_) + 1)); break;
    case Kind::kExponential: v = rng.exponential(a_); break;
    case Kind::kLognormal: v = std::exp(mu_ + sigma_ * rng.normal()); break;
  }
  return static_cast<uint32_t>(std::max(1.0, std::round(std::min(v, 1e9))));
}

double Distribution::mean() const {
  switch (kind_) {
    case Kind::kFixed: return a_;
    case Kind::kUniform: return (a_ + b_) / 2.0;
    case Kind::kExponential:
    case Kind::kLognormal: return a_;
  }
  return a_;
}

std::string Distribution::to_string() const {
  switch (kind_) {
    case Kind::kFixed: return fmt::format("fixed:{}", a_);
    case Kind::kUniform: return fmt::format("uniform:{}:{}", a_, b_);
    case Kind::kExponential: return fmt::format("exp:{}", a_);
    case Kind::kLognormal: return fmt::format("lognormal:{}:{}", a_, b_);
  }
  return {};
}

}  // namespace tidal
