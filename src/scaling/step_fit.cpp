#include "scaling/step_fit.h"

#include <algorithm>
#include <array>
#include <cmath>

#include "engine/model/step_time.h"

namespace tidal::scaling {
namespace {

using Vec3 = std::array<double, 3>;

engine::StepTimeParams from_log(const engine::StepTimeParams& base, const Vec3& u) {
  engine::StepTimeParams p = base;
  p.weight_floor_ms = std::exp(u[0]);
  p.per_token_ms = std::exp(u[1]);
  p.per_context_token_us = std::exp(u[2]);
  return p;
}

Vec3 to_log(const engine::StepTimeParams& p) {
  constexpr double kFloor = 1e-9;  // a zero coefficient (no context cost) as a tiny one
  return {std::log(std::max(kFloor, p.weight_floor_ms)), std::log(std::max(kFloor, p.per_token_ms)),
          std::log(std::max(kFloor, p.per_context_token_us))};
}

// Solves a 3x3 symmetric positive definite system by Cholesky; false if not positive.
bool solve3(std::array<Vec3, 3> a, Vec3 b, Vec3& x) {
  for (int i = 0; i < 3; ++i) {
    for (int j = 0; j <= i; ++j) {
      double s = a[i][j];
      for (int k = 0; k < j; ++k) s -= a[i][k] * a[j][k];
      if (i == j) {
        if (!(s > 0)) return false;
        a[i][i] = std::sqrt(s);
      } else {
        a[i][j] = s / a[j][j];
      }
    }
  }
  for (int i = 0; i < 3; ++i) {  // L y = b
    for (int k = 0; k < i; ++k) b[i] -= a[i][k] * b[k];
    b[i] /= a[i][i];
  }
  for (int i = 2; i >= 0; --i) {  // L^T x = y
    for (int k = i + 1; k < 3; ++k) b[i] -= a[k][i] * b[k];
    b[i] /= a[i][i];
  }
  x = b;
  return true;
}

}  // namespace

bool StepFit::add(const RequestSample& s, double mean_in, double mean_out, double out_sq) {
  if (s.prompt_tokens == 0 || !(s.ttft_ms > 0)) return false;
  bool kept = false;
  const double in = s.prompt_tokens, out = std::max<uint32_t>(1, s.output_tokens);
  if (s.alone) {
    prefill_.push_back(Obs{true, in, out, 0, 1, s.ttft_ms});
    if (prefill_.size() > max_samples_) prefill_.pop_front();
    kept = true;
  }
  if (s.tpot_ms > 0 && s.output_tokens >= 4) {
    const bool pooled = mean_in > 0 && mean_out > 0;
    decode_.push_back(Obs{false, pooled ? mean_in : in, pooled ? mean_out : out, pooled ? out_sq : 0,
                          std::max(1.0, s.batch), s.tpot_ms});
    if (decode_.size() > max_samples_) decode_.pop_front();
    kept = true;
  }
  return kept;
}

double StepFit::predict(const engine::StepTimeParams& p, const Obs& o) const {
  return o.prefill ? prefill_ms(p, shape_, o.in) : decode_step_ms(p, o.batch, o.in, o.out, o.out_sq);
}

double StepFit::rms_rel_error(const engine::StepTimeParams& p) const {
  double sum = 0;
  size_t n = 0;
  for (const auto* q : {&prefill_, &decode_}) {
    for (const auto& o : *q) {
      const double r = (predict(p, o) - o.y) / o.y;
      sum += r * r;
      ++n;
    }
  }
  return n ? std::sqrt(sum / static_cast<double>(n)) : 0;
}

const FitResult& StepFit::refit() {
  result_.prefill_samples = prefill_.size();
  result_.decode_samples = decode_.size();
  if (samples() == 0) {
    result_.params = prior_;
    result_.rel_error = result_.prior_error = 0;
    return result_;
  }
  const Vec3 u0 = to_log(prior_);
  // Cost: sum of squared relative residuals + prior_weight x |u - u0|^2 (a log-normal
  // prior on each parameter).
  auto cost = [&](const Vec3& u) {
    const engine::StepTimeParams p = from_log(prior_, u);
    double c = 0;
    for (const auto* q : {&prefill_, &decode_}) {
      for (const auto& o : *q) {
        const double r = (predict(p, o) - o.y) / o.y;
        c += r * r;
      }
    }
    for (int k = 0; k < 3; ++k) c += prior_weight_ * (u[k] - u0[k]) * (u[k] - u0[k]);
    return c;
  };
  // Start from the previous fit: it moves little between ticks.
  Vec3 u = to_log(result_.params);
  double c = cost(u), mu = 1e-3;
  constexpr double kH = 1e-5;
  for (int iter = 0; iter < 12; ++iter) {
    // Normal equations of the linearised residuals (numeric Jacobian in log space).
    std::array<Vec3, 3> jtj{};
    Vec3 jtr{};
    const engine::StepTimeParams p = from_log(prior_, u);
    std::array<engine::StepTimeParams, 3> ph;
    for (int k = 0; k < 3; ++k) {
      Vec3 uk = u;
      uk[k] += kH;
      ph[k] = from_log(prior_, uk);
    }
    for (const auto* q : {&prefill_, &decode_}) {
      for (const auto& o : *q) {
        const double f = predict(p, o);
        const double r = (f - o.y) / o.y;
        Vec3 j;
        for (int k = 0; k < 3; ++k) j[k] = (predict(ph[k], o) - f) / o.y / kH;
        for (int a = 0; a < 3; ++a) {
          jtr[a] += j[a] * r;
          for (int b = 0; b < 3; ++b) jtj[a][b] += j[a] * j[b];
        }
      }
    }
    for (int k = 0; k < 3; ++k) {
      jtj[k][k] += prior_weight_;
      jtr[k] += prior_weight_ * (u[k] - u0[k]);
    }
    bool improved = false;
    for (int tries = 0; tries < 8 && !improved; ++tries) {
      std::array<Vec3, 3> a = jtj;
      for (int k = 0; k < 3; ++k) a[k][k] *= 1 + mu;
      Vec3 neg{-jtr[0], -jtr[1], -jtr[2]}, step{};
      if (!solve3(a, neg, step)) break;
      Vec3 next = u;
      for (int k = 0; k < 3; ++k) next[k] += std::clamp(step[k], -2.0, 2.0);
      const double nc = cost(next);
      if (nc < c) {
        const double gain = c - nc;
        u = next;
        c = nc;
        mu = std::max(1e-6, mu / 3);
        improved = true;
        if (gain < 1e-9 * (1 + c)) iter = 1000;  // converged
      } else {
        mu *= 4;
      }
    }
    if (!improved) break;
  }
  result_.params = from_log(prior_, u);
  result_.rel_error = rms_rel_error(result_.params);
  result_.prior_error = rms_rel_error(prior_);
  return result_;
}

}  // namespace tidal::scaling
