#include "scaling/capacity_model.h"

#include <algorithm>
#include <cmath>

#include "engine/model/step_time.h"

namespace tidal::scaling {
namespace {

double step(const engine::StepTimeParams& p, double tokens, double context) {
  return engine::step_ms_mean(p, std::max(0.0, tokens), std::max(0.0, context));
}

double context_per_seq(double in, double out, double out_sq) {
  return in + (out_sq > 0 ? out_sq : out * out) / (2 * out);
}

}  // namespace

double decode_step_ms(const engine::StepTimeParams& p, double batch, double in, double out, double out_sq) {
  out = std::max(1.0, out);
  return step(p, batch + batch * in / out, batch * context_per_seq(in, out, out_sq));
}

double prefill_ms(const engine::StepTimeParams& p, const ReplicaShape& shape, double in) {
  const double chunk = std::max(1.0, static_cast<double>(shape.max_batched_tokens));
  double left = std::max(1.0, in), t = 0;
  while (left > 0) {
    t += step(p, std::min(left, chunk), 0);
    left -= chunk;
  }
  return t;
}

double loaded_ttft_ms(const engine::StepTimeParams& p, const ReplicaShape& shape, double batch, double in, double out,
                      double out_sq) {
  const double chunk = std::max(1.0, static_cast<double>(shape.max_batched_tokens));
  const double chunks = std::ceil(std::max(1.0, in) / chunk);
  const double ctx = batch * context_per_seq(in, std::max(1.0, out), out_sq);
  const double per_chunk = step(p, std::min(std::max(1.0, in), chunk) + batch, ctx);
  return decode_step_ms(p, batch, in, out, out_sq) + chunks * per_chunk;
}

CapacityEstimate replica_capacity(const engine::StepTimeParams& p, const ReplicaShape& shape, double in, double out,
                                  double tpot_target_ms, double ttft_target_ms, double out_sq) {
  out = std::max(1.0, out);
  CapacityEstimate best;
  for (uint32_t b = 1; b <= shape.max_num_seqs; ++b) {
    if (b * (in + out) > shape.kv_capacity_tokens) break;
    const double s = decode_step_ms(p, b, in, out, out_sq);
    if (s > tpot_target_ms) break;
    const double ttft = loaded_ttft_ms(p, shape, b, in, out, out_sq);
    if (ttft_target_ms > 0 && ttft > ttft_target_ms) break;
    best = CapacityEstimate{b / (out * s / 1000.0), b, s, ttft};
  }
  return best;
}

}  // namespace tidal::scaling
