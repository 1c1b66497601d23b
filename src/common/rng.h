// Seeded random numbers. Every component that needs randomness takes an Rng&, so a
// seed reproduces a run (tests, simulator, emulator jitter).
#pragma once

#include <cmath>
#include <cstdint>
#include <random>

namespace tidal {

class Rng {
 public:
  explicit Rng(uint64_t seed = 1) : gen_(seed) {}

  uint64_t next() { return gen_(); }
  // Uniform integer in [0, n); REQUIRES: n > 0.
  uint64_t below(uint64_t n) { return std::uniform_int_distribution<uint64_t>(0, n - 1)(gen_); }
  double uniform() { return std::uniform_real_distribution<double>(0.0, 1.0)(gen_); }
  // Standard normal. The distribution is kept: Marsaglia's method makes two values at a
  // time, and a fresh distribution per call would throw the second one away.
  double normal() { return normal_(gen_); }
  double exponential(double mean) { return std::exponential_distribution<double>(1.0 / mean)(gen_); }
  // Gamma with the given mean and coefficient of variation (CV = 1 is exponential).
  double gamma_mean_cv(double mean, double cv) {
    const double shape = 1.0 / (cv * cv);
    return std::gamma_distribution<double>(shape, mean / shape)(gen_);
  }
  double gamma(double shape, double scale) { return std::gamma_distribution<double>(shape, scale)(gen_); }
  double weibull(double shape, double scale) { return std::weibull_distribution<double>(shape, scale)(gen_); }
  // Multiplicative jitter with mean 1: exp(sigma*z - sigma^2/2).
  double lognormal_factor(double sigma) {
    if (sigma <= 0.0) return 1.0;
    return std::exp(sigma * normal() - sigma * sigma / 2.0);
  }

 private:
  std::mt19937_64 gen_;
  std::normal_distribution<double> normal_{0.0, 1.0};
};

}  // namespace tidal
