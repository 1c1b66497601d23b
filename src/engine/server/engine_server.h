// `tidal engine`: an OpenAI-compatible LLM engine with no model. Timing comes from the
// shared EngineModel (continuous batching, KV and prefix cache) run in real time;
// /metrics and /health speak vLLM's or llama.cpp's dialect; faults can be injected.
#pragma once

#include <atomic>
#include <memory>
#include <string>

#include "common/distribution.h"
#include "common/error.h"
#include "engine/model/preset.h"
#include "engine/server/engine_metrics.h"

namespace tidal::http {
class Server;
}

namespace tidal::engine {

struct FaultOptions {
  double error_rate = 0.0;          // fraction of completions answered with HTTP 500
  double added_latency_ms = 0.0;    // wall delay before a completion is queued
  double hang_rate = 0.0;           // fraction of completions that never answer
  uint64_t exit_after = 0;          // exit the process (code 3) on completion N+1; 0: never
  uint32_t abort_after_tokens = 0;  // drop streams' connections after K tokens; 0: never
};

struct EngineOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 9001;                      // 0: ephemeral (llama.cpp flavour, or no cold start)
  std::string preset = "llama3-8b-h100";     // see presets(); docs/engine-presets.md
  Flavor flavor = Flavor::kVllm;
  uint32_t max_num_seqs = 0;                 // 0: the preset's
  uint32_t max_num_batched_tokens = 0;       // 0: the preset's
  uint32_t kv_capacity_tokens = 0;           // 0: the preset's
  double time_scale = 1.0;                   // model time runs this many times faster than wall time
  double startup_delay_s = 0.0;              // cold start in model seconds (divided by time_scale)
  std::string served_model_name;             // "": the preset's model id
  std::vector<std::string> lora_modules;     // LoRA adapters served besides the base model (vLLM's --lora-modules name=path)
  uint64_t seed = 1;
  std::string default_output_tokens = "lognormal:256:1";  // used when a request has no max_tokens
  bool prefix_caching = true;
  uint64_t max_body_bytes = 32ull << 20;
  FaultOptions faults;
};

class EngineServer {
 public:
  // Validates options (unknown preset, bad distribution, ...) without binding.
  static Result<std::unique_ptr<EngineServer>> create(EngineOptions opts);
  ~EngineServer();

  // Runs the loop; listens now, or after the cold start for the vLLM flavour.
  void start();
  void stop();
  void join();

  [[nodiscard]] uint16_t port() const;          // 0 until listening
  [[nodiscard]] bool ready() const { return ready_; }
  [[nodiscard]] const EnginePreset& preset() const { return preset_; }

 private:
  class Impl;
  EngineServer(EngineOptions opts, EnginePreset preset, Distribution output);

  EngineOptions opts_;
  EnginePreset preset_;
  std::unique_ptr<Impl> impl_;
  std::atomic<bool> ready_{false};
};

}  // namespace tidal::engine
