#include "sim/capacity.h"

#include <algorithm>

#include "engine/model/step_time.h"

namespace tidal::sim {

double replica_capacity_rps(const engine::EnginePreset& p, double in, double out, double tpot_target_ms) {
  out = std::max(1.0, out);
  double best = 0;
  for (uint32_t b = 1; b <= p.max_num_seqs; ++b) {
    const double kv = b * (in + out);
    if (kv > p.kv_capacity_tokens) break;
    // Per step: one token per decoding sequence plus, on average, the prefill work of
    // the requests that replace finished ones (b/out requests per step × in tokens).
    const double tokens = b + b * in / out;
    const double ctx = b * (in + out / 2);
    const double step = engine::step_ms(p.step, static_cast<uint64_t>(tokens), static_cast<uint64_t>(ctx));
    if (step > tpot_target_ms) break;
    best = b / (out * step / 1000.0);
  }
  return best;
}

}  // namespace tidal::sim
