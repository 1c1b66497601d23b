// Calibrated engine presets: step-time coefficients, KV capacity and scheduler
// limits for real (hardware, model) pairs. Sources are cited in docs/engine-presets.md
// (figures from shared CALIBRATION.md).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tidal::engine {

struct StepTimeParams {
  // step_ms = sqrt(W^2 + (c1*N)^2) + c3*C   (N: tokens in the step, C: KV tokens read by decodes)
  double weight_floor_ms = 7.0;     // W
  double per_token_ms = 0.035;      // c1
  double per_context_token_us = 0.06;  // c3, microseconds per context token read
  double jitter_sigma = 0.05;       // lognormal sigma on each step
};

struct EnginePreset {
  std::string name;
  std::string description;           // model, hardware, engine
  StepTimeParams step;
  uint32_t kv_capacity_tokens = 430'000;
  uint32_t max_num_batched_tokens = 8192;  // per-step token budget
  uint32_t max_num_seqs = 256;             // sequences running at once
  uint32_t max_model_len = 8192;           // prompt + output limit per request
  double typical_cold_start_s = 82.0;      // documented typical start-up (not applied by default)
  std::string model_id = "meta-llama/Meta-Llama-3-8B-Instruct";
};

[[nodiscard]] const std::vector<EnginePreset>& presets();
[[nodiscard]] std::optional<EnginePreset> find_preset(std::string_view name);

}  // namespace tidal::engine
