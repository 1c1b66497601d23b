#include "engine/server/engine_metrics.h"

#include "common/metrics/exposer.h"

namespace tidal::engine {
namespace {

using prometheus::BuildCounter;
using prometheus::BuildGauge;
using prometheus::BuildHistogram;
using prometheus::Histogram;

const Histogram::BucketBoundaries& latency_buckets() {
  static const Histogram::BucketBoundaries b = {0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5,
                                                0.75,  1.0,   2.5,  5.0,  7.5,  10.0, 20.0, 40.0, 80.0};
  return b;
}

}  // namespace

EngineMetrics::EngineMetrics(Flavor flavor, const std::string& model_name, uint64_t kv_capacity_tokens)
    : flavor_(flavor) {
  auto& r = *registry_;
  if (flavor == Flavor::kVllm) {
    const prometheus::Labels l = {{"model_name", model_name}, {"engine", "0"}};
    running_ = &BuildGauge().Name("vllm:num_requests_running").Help("Number of requests in model execution batches.").Register(r).Add(l);
    waiting_ = &BuildGauge().Name("vllm:num_requests_waiting").Help("Number of requests waiting to be processed.").Register(r).Add(l);
    kv_usage_ = &BuildGauge().Name("vllm:kv_cache_usage_perc").Help("KV-cache usage. 1 means 100 percent usage.").Register(r).Add(l);
    prompt_tokens_ = &BuildCounter().Name("vllm:prompt_tokens_total").Help("Number of prefill tokens processed.").Register(r).Add(l);
    generation_tokens_ = &BuildCounter().Name("vllm:generation_tokens_total").Help("Number of generation tokens processed.").Register(r).Add(l);
    preemptions_ = &BuildCounter().Name("vllm:num_preemptions_total").Help("Cumulative number of preemption from the engine.").Register(r).Add(l);
    prefix_queries_ = &BuildCounter().Name("vllm:prefix_cache_queries_total").Help("Prefix cache queries, in terms of number of queried tokens.").Register(r).Add(l);
    // vLLM's info gauge: the KV cache's size in its labels (16-token blocks here).
    BuildGauge().Name("vllm:cache_config_info").Help("Information of the LLMEngine CacheConfig").Register(r)
        .Add({{"block_size", "16"}, {"num_gpu_blocks", std::to_string(kv_capacity_tokens / 16)}, {"enable_prefix_caching", "True"}})
        .Set(1);
    prefix_hits_ = &BuildCounter().Name("vllm:prefix_cache_hits_total").Help("Prefix cache hits, in terms of number of cached tokens.").Register(r).Add(l);
    auto& success = BuildCounter().Name("vllm:request_success_total").Help("Count of successfully processed requests.").Register(r);
    success_length_ = &success.Add({{"model_name", model_name}, {"engine", "0"}, {"finished_reason", "length"}});
    success_stop_ = &success.Add({{"model_name", model_name}, {"engine", "0"}, {"finished_reason", "stop"}});
    success_abort_ = &success.Add({{"model_name", model_name}, {"engine", "0"}, {"finished_reason", "abort"}});
    ttft_ = &BuildHistogram().Name("vllm:time_to_first_token_seconds").Help("Histogram of time to first token in seconds.").Register(r).Add(l, latency_buckets());
    itl_ = &BuildHistogram().Name("vllm:inter_token_latency_seconds").Help("Histogram of inter-token latency in seconds.").Register(r).Add(l, latency_buckets());
    e2e_ = &BuildHistogram().Name("vllm:e2e_request_latency_seconds").Help("Histogram of e2e request latency in seconds.").Register(r).Add(l, latency_buckets());
  } else {
    prompt_tokens_ = &BuildCounter().Name("llamacpp:prompt_tokens_total").Help("Number of prompt tokens processed.").Register(r).Add({});
    generation_tokens_ = &BuildCounter().Name("llamacpp:tokens_predicted_total").Help("Number of generation tokens processed.").Register(r).Add({});
    decode_steps_ = &BuildCounter().Name("llamacpp:n_decode_total").Help("Total number of llama_decode() calls").Register(r).Add({});
    running_ = &BuildGauge().Name("llamacpp:requests_processing").Help("Number of requests processing.").Register(r).Add({});
    waiting_ = &BuildGauge().Name("llamacpp:requests_deferred").Help("Number of requests deferred.").Register(r).Add({});
    busy_slots_ = &BuildGauge().Name("llamacpp:n_busy_slots_per_decode").Help("Average number of busy slots per llama_decode() call").Register(r).Add({});
    prompt_tps_ = &BuildGauge().Name("llamacpp:prompt_tokens_seconds").Help("Average prompt throughput in tokens/s.").Register(r).Add({});
    predicted_tps_ = &BuildGauge().Name("llamacpp:predicted_tokens_seconds").Help("Average generation throughput in tokens/s.").Register(r).Add({});
  }
}

void EngineMetrics::count_finished(std::string_view reason) {
  if (flavor_ != Flavor::kVllm) return;
  if (reason == "length") success_length_->Increment();
  else if (reason == "stop") success_stop_->Increment();
  else success_abort_->Increment();
}

void EngineMetrics::sync_counter(prometheus::Counter* c, double total) {
  if (c && total > c->Value()) c->Increment(total - c->Value());
}

std::string EngineMetrics::render(const EngineCore& core) {
  const auto& m = core.model();
  const auto& k = m.counters();
  running_->Set(static_cast<double>(m.num_running()));
  waiting_->Set(static_cast<double>(m.num_waiting()));
  if (kv_usage_) kv_usage_->Set(m.kv_usage());
  sync_counter(prompt_tokens_, static_cast<double>(k.prompt_tokens));
  sync_counter(generation_tokens_, static_cast<double>(k.generation_tokens));
  sync_counter(preemptions_, static_cast<double>(k.preemptions));
  sync_counter(prefix_queries_, static_cast<double>(k.prefix_queries));
  sync_counter(prefix_hits_, static_cast<double>(k.prefix_hits));
  sync_counter(decode_steps_, static_cast<double>(k.steps));
  if (flavor_ == Flavor::kLlamaCpp) {
    const auto now = std::chrono::steady_clock::now();
    const double dt = std::chrono::duration<double>(now - last_scrape_).count();
    if (dt > 0) {
      prompt_tps_->Set(static_cast<double>(k.prompt_tokens - last_prompt_) / dt);
      predicted_tps_->Set(static_cast<double>(k.generation_tokens - last_generated_) / dt);
    }
    busy_slots_->Set(core.last_step_seqs());
    last_scrape_ = now;
    last_prompt_ = k.prompt_tokens;
    last_generated_ = k.generation_tokens;
  }
  return metrics::serialize(*registry_);
}

}  // namespace tidal::engine
