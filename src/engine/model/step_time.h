// Step duration of a continuous-batching engine (see CALIBRATION.md):
//   step_ms = sqrt(W^2 + (c1*N)^2) + c3*C
// N = tokens computed in the step (prefill chunk tokens + one per decoding sequence),
// C = KV tokens read by the decoding sequences.
#pragma once

#include <cmath>
#include <cstdint>

#include "engine/model/preset.h"

namespace tidal::engine {

// The same formula over real-valued (mean) token counts, for the capacity model and the
// online fit of the scaling controller.
inline double step_ms_mean(const StepTimeParams& p, double tokens, double context_tokens) {
  const double compute = p.per_token_ms * tokens;
  return std::sqrt(p.weight_floor_ms * p.weight_floor_ms + compute * compute) + p.per_context_token_us * 1e-3 * context_tokens;
}

inline double step_ms(const StepTimeParams& p, uint64_t tokens, uint64_t context_tokens) {
  return step_ms_mean(p, static_cast<double>(tokens), static_cast<double>(context_tokens));
}

}  // namespace tidal::engine
