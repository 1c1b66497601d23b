#include "engine/model/preset.h"

namespace tidal::engine {

const std::vector<EnginePreset>& presets() {
  // Midpoints of the calibration ranges; see docs/engine-presets.md for sources.
  static const std::vector<EnginePreset> kPresets = {
      {"llama3-8b-h100", "Llama-3-8B BF16, 1xH100, vLLM", {6.8, 0.035, 0.06, 0.05},
       430'000, 8192, 1024, 8192, 82.0, "meta-llama/Meta-Llama-3-8B-Instruct"},
      {"llama3-8b-a100", "Llama-3-8B BF16, 1xA100-80G, vLLM", {10.8, 0.08, 0.10, 0.05},
       430'000, 2048, 256, 8192, 82.0, "meta-llama/Meta-Llama-3-8B-Instruct"},
      {"llama3-70b-4xa100", "Llama-3-70B BF16, 4xA100 TP4, vLLM", {28.5, 0.17, 0.06, 0.05},
       450'000, 2048, 256, 8192, 126.0, "meta-llama/Meta-Llama-3-70B-Instruct"},
      {"llama3-70b-4xh100", "Llama-3-70B BF16, 4xH100 TP4, vLLM", {18.0, 0.06, 0.037, 0.05},
       450'000, 8192, 1024, 8192, 126.0, "meta-llama/Meta-Llama-3-70B-Instruct"},
      {"llama3-70b-8xh100", "Llama-3-70B BF16, 8xH100 TP8, vLLM", {11.5, 0.032, 0.018, 0.05},
       1'300'000, 8192, 1024, 8192, 126.0, "meta-llama/Meta-Llama-3-70B-Instruct"},
      {"llama3-70b-fp8-h100", "Llama-3-70B FP8, 1xH100, vLLM", {31.0, 0.18, 0.15, 0.05},
       22'000, 8192, 256, 8192, 126.0, "meta-llama/Meta-Llama-3-70B-Instruct"},
      {"llama3-8b-q6-rtx4090", "Llama-3-8B Q6_K, RTX 4090, llama.cpp (4 slots)", {10.75, 0.21, 0.05, 0.05},
       32'768, 2048, 4, 8192, 8.0, "llama-3-8b-instruct-q6_k"},
      {"cpu-tiny", "small fast profile for tests and demos (not a real model)", {2.0, 0.01, 0.01, 0.0},
       65'536, 2048, 64, 4096, 0.0, "tidal-tiny"},
  };
  return kPresets;
}

std::optional<EnginePreset> find_preset(std::string_view name) {
  for (const auto& p : presets()) {
    if (p.name == name) return p;
  }
  return std::nullopt;
}

}  // namespace tidal::engine
