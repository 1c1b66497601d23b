#include <unistd.h>

#include <climits>

#include "cli/commands.h"
#include "common/log.h"
#include "common/signals.h"
#include "engine/server/engine_server.h"

namespace tidal::cli {

std::string self_executable() {
  char buf[PATH_MAX];
  const ssize_t n = ::readlink("/proc/self/exe", buf, sizeof(buf) - 1);
  if (n <= 0) return "tidal";
  return std::string(buf, static_cast<size_t>(n));
}

Action add_engine_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("engine", "Run an emulated OpenAI-compatible LLM engine (no model)");
  auto opts = std::make_shared<engine::EngineOptions>();
  auto flavor = std::make_shared<std::string>("vllm");
  cmd->add_option("--host", opts->host, "Address to listen on")->capture_default_str();
  cmd->add_option("--port", opts->port, "Port to listen on (0: ephemeral)")->capture_default_str();
  cmd->add_option("--preset", opts->preset,
                  "Hardware/model timing preset: llama3-8b-h100, llama3-8b-a100, llama3-70b-4xa100, "
                  "llama3-70b-4xh100, llama3-70b-8xh100, llama3-70b-fp8-h100, llama3-8b-q6-rtx4090, cpu-tiny")
      ->capture_default_str();
  cmd->add_option("--flavor", *flavor, "API dialect of /health and /metrics: vllm or llamacpp")
      ->check(CLI::IsMember({"vllm", "llamacpp"}))
      ->capture_default_str();
  cmd->add_option("--max-num-seqs", opts->max_num_seqs, "Sequences running at once (0: the preset's)");
  cmd->add_option("--max-num-batched-tokens", opts->max_num_batched_tokens, "Token budget per step (0: the preset's)");
  cmd->add_option("--kv-capacity-tokens", opts->kv_capacity_tokens, "KV cache size in tokens (0: the preset's)");
  cmd->add_option("--time-scale", opts->time_scale, "Run model time this many times faster than real time")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--startup-delay-s", opts->startup_delay_s,
                  "Cold start in model seconds: port closed (vllm) or /health 503 (llamacpp) meanwhile")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--served-model-name", opts->served_model_name, "Model id to report (default: the preset's)");
  cmd->add_option("--lora-modules", opts->lora_modules,
                  "LoRA adapters to serve as models of their own, as vLLM's name=path (timing as the base model)");
  cmd->add_option("--seed", opts->seed, "Random seed (jitter, output lengths, faults)")->capture_default_str();
  cmd->add_option("--default-output-tokens", opts->default_output_tokens,
                  "Output length when a request has no max_tokens: N, uniform:A:B, exp:MEAN, lognormal:MEAN:CV")
      ->capture_default_str();
  cmd->add_flag("!--no-prefix-caching", opts->prefix_caching, "Disable the prefix cache");
  cmd->add_option("--max-body-bytes", opts->max_body_bytes, "Largest request body accepted")->capture_default_str();
  cmd->add_option("--error-rate", opts->faults.error_rate, "Fault: fraction of completions answered with HTTP 500")
      ->check(CLI::Range(0.0, 1.0));
  cmd->add_option("--added-latency-ms", opts->faults.added_latency_ms, "Fault: wall delay added before each completion")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--hang-rate", opts->faults.hang_rate, "Fault: fraction of completions that never answer")
      ->check(CLI::Range(0.0, 1.0));
  cmd->add_option("--exit-after", opts->faults.exit_after, "Fault: exit (code 3) when completion N+1 arrives");
  cmd->add_option("--abort-after-tokens", opts->faults.abort_after_tokens,
                  "Fault: drop a stream's connection after K tokens");

  return [opts, flavor] {
    opts->flavor = *flavor == "llamacpp" ? engine::Flavor::kLlamaCpp : engine::Flavor::kVllm;
    auto server = engine::EngineServer::create(*opts);
    if (!server) {
      std::fprintf(stderr, "tidal engine: %s\n", server.error().message.c_str());
      return 2;
    }
    block_shutdown_signals();
    (*server)->start();
    const int sig = wait_for_shutdown_signal();
    logger("engine")->info("shutting down signal={}", sig);
    (*server)->stop();
    (*server)->join();
    return 0;
  };
}

}  // namespace tidal::cli
