// The emulator's /metrics, in the names real engines use: vLLM's `vllm:*` (labels
// model_name, engine) or llama.cpp's `llamacpp:*` (no labels), so tidal's scrapers
// and dashboards can be tested against it.
#pragma once

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <chrono>
#include <memory>
#include <string>

#include "engine/server/engine_core.h"

namespace tidal::engine {

enum class Flavor { kVllm, kLlamaCpp };

class EngineMetrics {
 public:
  EngineMetrics(Flavor flavor, const std::string& model_name, uint64_t kv_capacity_tokens);

  // Per-request observations (seconds, as clients see them).
  void observe_ttft(double s) { if (ttft_) ttft_->Observe(s); }
  void observe_itl(double s) { if (itl_) itl_->Observe(s); }
  void observe_e2e(double s) { if (e2e_) e2e_->Observe(s); }
  void count_finished(std::string_view reason);

  // Refreshes gauges and counters from the core, then renders the text format.
  [[nodiscard]] std::string render(const EngineCore& core);

 private:
  void sync_counter(prometheus::Counter* c, double total);

  Flavor flavor_;
  std::shared_ptr<prometheus::Registry> registry_ = std::make_shared<prometheus::Registry>();
  prometheus::Gauge* running_ = nullptr;
  prometheus::Gauge* waiting_ = nullptr;
  prometheus::Gauge* kv_usage_ = nullptr;
  prometheus::Gauge* busy_slots_ = nullptr;
  prometheus::Gauge* prompt_tps_ = nullptr;
  prometheus::Gauge* predicted_tps_ = nullptr;
  prometheus::Counter* prompt_tokens_ = nullptr;
  prometheus::Counter* generation_tokens_ = nullptr;
  prometheus::Counter* preemptions_ = nullptr;
  prometheus::Counter* prefix_queries_ = nullptr;
  prometheus::Counter* prefix_hits_ = nullptr;
  prometheus::Counter* decode_steps_ = nullptr;
  prometheus::Counter* success_length_ = nullptr;
  prometheus::Counter* success_stop_ = nullptr;
  prometheus::Counter* success_abort_ = nullptr;
  prometheus::Histogram* ttft_ = nullptr;
  prometheus::Histogram* itl_ = nullptr;
  prometheus::Histogram* e2e_ = nullptr;
  // llama.cpp's throughput gauges cover the time since the previous scrape.
  std::chrono::steady_clock::time_point last_scrape_ = std::chrono::steady_clock::now();
  uint64_t last_prompt_ = 0, last_generated_ = 0;
};

}  // namespace tidal::engine
