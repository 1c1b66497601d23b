// What one replica can serve inside latency targets, from the engine's step-time model
// (engine/model/step_time.h) at the workload's mean request sizes. Pure arithmetic:
// the `slo` policy calls it every tick with parameters fitted online (StepFit), the
// simulator's tests with a preset's.
//
// Steady state at a batch of b decoding sequences: each step computes one token per
// decode plus, on average, the prefill of the requests that replace finished ones
// (b / out requests per step x in tokens), and reads b x (in + E[out^2] / (2 E[out]))
// context tokens — long outputs stay longer in the batch, so the mean context is
// length-biased (in + out/2 when all outputs are alike; `out_sq` = E[out^2], 0: out^2).
// The replica then finishes b / (out x step) requests per second. A new request's first
// token needs its prompt's chunks (max_batched_tokens each), each a step that also
// carries the b decodes, after the step in progress.
#pragma once

#include <cstdint>

#include "engine/model/preset.h"

namespace tidal::scaling {

struct ReplicaShape {
  uint32_t max_num_seqs = 256;
  uint32_t max_batched_tokens = 8192;
  uint32_t kv_capacity_tokens = 430'000;
};

struct CapacityEstimate {
  double rps = 0;       // requests/s one replica sustains inside both targets; 0: none
  uint32_t batch = 0;   // decoding sequences at that rate
  double step_ms = 0;   // decode step (TPOT) at that rate
  double ttft_ms = 0;   // predicted first-token time at that rate
};

// Mean step time (TPOT) at `batch` decoding sequences of the given mean sizes.
[[nodiscard]] double decode_step_ms(const engine::StepTimeParams& p, double batch, double mean_in, double mean_out,
                                    double out_sq = 0);
// First-token time of a prompt of `in` tokens on an otherwise idle replica (its chunks).
[[nodiscard]] double prefill_ms(const engine::StepTimeParams& p, const ReplicaShape& shape, double in);
// First-token time of a mean-sized prompt joining `batch` decodes (after the step in progress).
[[nodiscard]] double loaded_ttft_ms(const engine::StepTimeParams& p, const ReplicaShape& shape, double batch,
                                    double mean_in, double mean_out, double out_sq = 0);

// The largest batch whose step stays under tpot_target_ms, whose first token stays under
// ttft_target_ms (<= 0: no TTFT target) and whose KV fits; its request rate.
[[nodiscard]] CapacityEstimate replica_capacity(const engine::StepTimeParams& p, const ReplicaShape& shape,
                                                double mean_in, double mean_out, double tpot_target_ms,
                                                double ttft_target_ms, double out_sq = 0);

}  // namespace tidal::scaling
