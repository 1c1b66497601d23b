#include "fleet/engine_scraper.h"

#include <algorithm>
#include <boost/json.hpp>
#include <cmath>
#include <cstdlib>

#include "common/log.h"
#include "fleet/detail/replica_loop.h"
#include "http/client.h"

namespace tidal::fleet {

EngineLoad read_engine_load(const std::vector<MetricSample>& samples) {
  EngineLoad l;
  auto add = [](std::optional<double>& slot, double v) {
    if (std::isfinite(v)) slot = slot.value_or(0) + v;  // vLLM labels per model: sum
  };
  for (const auto& s : samples) {
    if (s.name == "vllm:num_requests_running" || s.name == "llamacpp:requests_processing") add(l.running, s.value);
    else if (s.name == "vllm:num_requests_waiting" || s.name == "llamacpp:requests_deferred") add(l.waiting, s.value);
    else if (s.name == "vllm:kv_cache_usage_perc" || s.name == "vllm:gpu_cache_usage_perc" ||
             s.name == "llamacpp:kv_cache_usage_ratio") {
      if (std::isfinite(s.value)) l.kv_usage = std::max(l.kv_usage.value_or(0), std::clamp(s.value, 0.0, 1.0));
    } else if (s.name == "vllm:cache_config_info") {
      // The KV cache's size: num_gpu_blocks × block_size, in labels of an info gauge.
      double blocks = 0, block_size = 0;
      for (const auto& [k, v] : s.labels) {
        if (k == "num_gpu_blocks") blocks = std::strtod(v.c_str(), nullptr);
        if (k == "block_size") block_size = std::strtod(v.c_str(), nullptr);
      }
      if (blocks > 0 && block_size > 0 && blocks * block_size < 1e15) {
        l.kv_capacity_tokens = static_cast<uint64_t>(blocks * block_size);
      }
    }
  }
  return l;
}

std::optional<uint64_t> read_model_filter(std::string_view body) {
  boost::json::error_code ec;
  const boost::json::value doc = boost::json::parse(body, ec);
  if (ec || !doc.is_object()) return std::nullopt;
  const auto* data = doc.as_object().if_contains("data");
  if (!data || !data->is_array()) return std::nullopt;
  uint64_t filter = 0;
  for (const auto& m : data->as_array()) {
    if (!m.is_object()) continue;
    // llama-server answers whatever `model` a request names: it filters nothing.
    const auto* owner = m.as_object().if_contains("owned_by");
    if (owner && owner->is_string() && owner->as_string() == "llamacpp") return std::nullopt;
    const auto* id = m.as_object().if_contains("id");
    if (id && id->is_string()) filter |= model_bits(id->as_string());
  }
  return filter ? std::optional(filter) : std::nullopt;
}

std::optional<SlotUsage> read_slots(std::string_view body) {
  boost::json::error_code ec;
  const boost::json::value doc = boost::json::parse(body, ec);
  if (ec || !doc.is_array()) return std::nullopt;
  SlotUsage u;
  for (const auto& slot : doc.as_array()) {
    if (!slot.is_object()) return std::nullopt;
    const auto& o = slot.as_object();
    bool busy = false;
    if (const auto* p = o.if_contains("is_processing"); p && p->is_bool()) {
      busy = p->as_bool();
    } else if (const auto* st = o.if_contains("state"); st && st->is_int64()) {
      busy = st->as_int64() != 0;  // older llama-server: 0 idle, 1 processing
    } else {
      return std::nullopt;
    }
    ++u.total;
    u.busy += busy ? 1 : 0;
  }
  return u;
}

void EngineScraper::watch(ReplicaId id, http::asio::any_io_executor ex) {
  if (config_.interval.count() <= 0) return;
  detail::spawn_replica_loop(ex, run(id), "metrics scraper");
}

http::awaitable<void> EngineScraper::run(ReplicaId id) {
  auto ex = co_await http::asio::this_coro::executor;
  http::ConnectionPool pool(ex, http::PoolOptions{.max_idle_per_endpoint = 1});
  http::asio::steady_timer timer(ex);
  Replica& r = registry_.at(id);
  bool llamacpp = false, slots = true;  // /slots is asked only of llama.cpp, until it refuses
  bool models = true;                   // /v1/models, until it refuses
  while (r.state.load() != ReplicaState::kGone) {
    const auto s = r.state.load();
    if (s == ReplicaState::kReady || s == ReplicaState::kDraining) {
      http::Request req{http::bhttp::verb::get, config_.path, 11};
      req.set(http::bhttp::field::host, r.url.authority());
      req.set(http::bhttp::field::user_agent, "tidal-scraper");
      auto [ec, res] = co_await http::fetch(pool, r.endpoint, std::move(req), config_.timeout);
      if (!ec && res.status == 200) {
        const auto samples = parse_prometheus_text(res.body);
        const EngineLoad l = read_engine_load(samples);
        llamacpp = llamacpp || std::any_of(samples.begin(), samples.end(),
                                           [](const MetricSample& m) { return m.name.starts_with("llamacpp:"); });
        if (l.running) r.engine_running.store(static_cast<uint32_t>(std::max(0.0, *l.running)));
        if (l.waiting) r.engine_waiting.store(static_cast<uint32_t>(std::max(0.0, *l.waiting)));
        if (l.kv_usage) r.kv_usage.store(*l.kv_usage);
        if (l.kv_capacity_tokens) r.kv_capacity_tokens.store(*l.kv_capacity_tokens);
        r.in_flight_at_scrape.store(r.in_flight.load(std::memory_order_relaxed));
        if (l.running || l.waiting || l.kv_usage) {
          r.scraped_at_ns.store(std::chrono::steady_clock::now().time_since_epoch().count());
        }
      }
    }
    if (models && s == ReplicaState::kReady) {
      http::Request req{http::bhttp::verb::get, "/v1/models", 11};
      req.set(http::bhttp::field::host, r.url.authority());
      req.set(http::bhttp::field::user_agent, "tidal-scraper");
      auto [ec, res] = co_await http::fetch(pool, r.endpoint, std::move(req), config_.timeout);
      if (!ec && (res.status == 501 || res.status == 404)) models = false;
      if (!ec && res.status == 200) {
        if (auto f = read_model_filter(res.body)) r.model_filter.store(*f, std::memory_order_relaxed);
      }
    }
    if (llamacpp && slots && (s == ReplicaState::kReady || s == ReplicaState::kDraining)) {
      http::Request req{http::bhttp::verb::get, "/slots", 11};
      req.set(http::bhttp::field::host, r.url.authority());
      req.set(http::bhttp::field::user_agent, "tidal-scraper");
      auto [ec, res] = co_await http::fetch(pool, r.endpoint, std::move(req), config_.timeout);
      if (!ec && (res.status == 501 || res.status == 404)) slots = false;  // --no-slots
      if (!ec && res.status == 200) {
        if (auto u = read_slots(res.body)) {
          r.slots_busy.store(u->busy);
          r.slots_total.store(u->total);
          r.in_flight_at_scrape.store(r.in_flight.load(std::memory_order_relaxed));
        }
      }
    }
    timer.expires_after(config_.interval);
    co_await timer.async_wait(http::use_tuple);
  }
}

}  // namespace tidal::fleet
