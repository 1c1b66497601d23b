// Engine metrics scrapers: one cancellable coroutine per replica GETs its /metrics every
// interval and stores what routing and scaling read into fleet::Replica — requests
// running and waiting inside the engine, and KV-cache usage. Both dialects are read:
// vLLM (`vllm:num_requests_running`, `vllm:num_requests_waiting`,
// `vllm:kv_cache_usage_perc`, older `vllm:gpu_cache_usage_perc`) and llama.cpp
// `llama-server --metrics` (`llamacpp:requests_processing`, `llamacpp:requests_deferred`,
// `llamacpp:kv_cache_usage_ratio`), and for llama.cpp also `GET /slots` (slots busy of
// total, `is_processing` or the older `state` field; a server started with --no-slots
// answers 501 and is not asked again). One scraper per replica: llama.cpp resets its
// throughput gauges on every scrape, so two scrapers would halve each other's view.
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "fleet/prometheus_text.h"
#include "fleet/registry.h"
#include "http/types.h"

namespace tidal::fleet {

struct ScrapeConfig {
  std::chrono::milliseconds interval{1000};  // 0 disables scraping
  std::chrono::milliseconds timeout{1000};
  std::string path = "/metrics";
};

// What one scrape found; fields the engine does not export stay empty.
struct EngineLoad {
  std::optional<double> running, waiting, kv_usage;
  std::optional<uint64_t> kv_capacity_tokens;  // vLLM's cache_config_info: num_gpu_blocks × block_size
};
[[nodiscard]] EngineLoad read_engine_load(const std::vector<MetricSample>& samples);
// The Bloom filter (model_bits) of the model ids in an OpenAI /v1/models body; nullopt
// if it is not a model list, lists none, or comes from llama-server (owned_by
// "llamacpp": it serves any `model` a request names).
[[nodiscard]] std::optional<uint64_t> read_model_filter(std::string_view body);
// llama.cpp's /slots body: {busy, total}; nullopt if it is not a slot list.
struct SlotUsage {
  uint32_t busy = 0, total = 0;
};
[[nodiscard]] std::optional<SlotUsage> read_slots(std::string_view body);

class EngineScraper {
 public:
  EngineScraper(Registry& registry, ScrapeConfig config) : registry_(registry), config_(std::move(config)) {}
  // Spawns the scrape loop for a replica on `ex`; it ends when the replica is gone.
  void watch(ReplicaId id, http::asio::any_io_executor ex);

 private:
  http::awaitable<void> run(ReplicaId id);
  Registry& registry_;
  ScrapeConfig config_;
};

}  // namespace tidal::fleet
