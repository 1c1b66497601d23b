// The gateway's internals, shared by gateway_server.cpp (set-up, health, metrics,
// admin) and completion.cpp (the request path). Private to src/gateway.
#pragma once

#include <array>
#include <atomic>
#include <mutex>
#include <thread>

#include "common/check.h"
#include "common/internal_errors.h"
#include "common/log.h"
#include "fleet/health_checker.h"
#include "gateway/admission_queue.h"
#include "gateway/gatekeeper.h"
#include "gateway/gateway_metrics.h"
#include "gateway/gateway_server.h"
#include "gateway/models_merge.h"
#include "gateway/proxy.h"
#include "gateway/request_routing.h"
#include "gateway/resilience.h"
#include "http/client.h"
#include "http/server.h"
#include "openai/error.h"
#include "openai/request.h"

namespace tidal::gateway {

namespace bhttp = http::bhttp;
using http::Exchange;
using http::Request;
using http::ServerRequest;
using http::Response;
using routing::ReplicaId;
using SteadyClock = std::chrono::steady_clock;

Response json_response(unsigned status, std::string body);
// An OpenAI error body with the error kind's status (and Retry-After when retrying helps).
Response error_response(const Error& e);
// A stream that waited at zero has answered 200 already: later errors go as an SSE
// error event (the OpenAI error body) and the stream ends.
// `headers` go on the response (not on an event stream already started).
http::awaitable<void> respond_error(Exchange& ex, const Error& e, const Headers& headers = {});
// The configured rate-limit backend (validated with the config).
inline std::unique_ptr<RateLimiter> make_limiter(const RateLimitBackendConfig& c) {
  auto l = make_rate_limiter(c);
  TIDAL_CHECK(l.has_value());
  return std::move(*l);
}
inline std::chrono::milliseconds ms(double s) { return std::chrono::milliseconds(static_cast<int64_t>(s * 1000.0)); }

// Per event loop state: nothing here is shared between threads (the policies' shared
// state is the pool's routing::SharedState and the replicas' stats).
struct LoopContext {
  // The loops run until the gateway stops: idle upstream connections keep their timers.
  explicit LoopContext(http::asio::any_io_executor ex) : pool(std::move(ex), http::PoolOptions{.rest_idle = false}) {}
  http::ConnectionPool pool;
  std::vector<std::unique_ptr<routing::RoutingPolicy>> policies;  // one per pool, in pool order
};

// Monotonic load counters of a pool, read by the controller (scaling::LoadWindow).
struct PoolLoad {
  std::atomic<uint64_t> arrivals{0}, prompt_tokens{0}, output_tokens{0};
  std::array<std::atomic<uint64_t>, scaling::LatencyHistogram::kBuckets> ttft_ms{}, e2e_ms{}, tpot_ms{};
  // Finished requests for the slo policy's calibration, while a controller wants them.
  // Bounded; a sample that finds the lock taken is dropped (the fit needs a sample, not all).
  static constexpr size_t kMaxSamples = 4096;
  std::atomic<bool> want_samples{false};
  std::mutex samples_mu;
  std::vector<scaling::RequestSample> samples;

  void add_sample(const scaling::RequestSample& s) {
    std::unique_lock lock(samples_mu, std::try_to_lock);
    if (lock && samples.size() < kMaxSamples) samples.push_back(s);
  }

  scaling::LoadCounters snapshot() const {
    scaling::LoadCounters c;
    c.arrivals = arrivals.load(std::memory_order_relaxed);
    c.prompt_tokens = prompt_tokens.load(std::memory_order_relaxed);
    c.output_tokens = output_tokens.load(std::memory_order_relaxed);
    for (int b = 0; b < scaling::LatencyHistogram::kBuckets; ++b) {
      c.ttft_ms.add_bucket(b, ttft_ms[static_cast<size_t>(b)].load(std::memory_order_relaxed));
      c.e2e_ms.add_bucket(b, e2e_ms[static_cast<size_t>(b)].load(std::memory_order_relaxed));
      c.tpot_ms.add_bucket(b, tpot_ms[static_cast<size_t>(b)].load(std::memory_order_relaxed));
    }
    return c;
  }
  static void observe(std::array<std::atomic<uint64_t>, scaling::LatencyHistogram::kBuckets>& h, double ms) {
    h[static_cast<size_t>(scaling::LatencyHistogram::bucket_of(ms))].fetch_add(1, std::memory_order_relaxed);
  }

  // The default hedge delay: the p95 TTFT of the pool's recent requests (the last 10-20 s
  // once 20 finished there; since start before), 1 s before any finished. Refreshed at
  // most once a second; only hedged requests ask.
  double recent_ttft_p95_ms() {
    std::lock_guard lock(recent_mu);
    const auto now = SteadyClock::now();
    if (now - recent_at >= std::chrono::seconds(1)) {
      scaling::LatencyHistogram cur;
      for (int b = 0; b < scaling::LatencyHistogram::kBuckets; ++b) {
        cur.add_bucket(b, ttft_ms[static_cast<size_t>(b)].load(std::memory_order_relaxed));
      }
      const auto recent = cur.minus(recent_base);
      if (recent.total() >= 20) {
        recent_p95 = recent.quantile(0.95);
      } else if (cur.total() > 0) {
        recent_p95 = cur.quantile(0.95);
      }
      if (now - recent_base_at >= std::chrono::seconds(10)) {
        recent_base = cur;
        recent_base_at = now;
      }
      recent_at = now;
    }
    return recent_p95 > 0 ? recent_p95 : 1000;
  }
  // The local replicas' mean CPU (% of one core) and memory (% of the host), from the
  // controller's last tick; < 0 unknown.
  std::atomic<double> host_cpu_pct{-1}, host_mem_pct{-1};

  std::mutex recent_mu;
  scaling::LatencyHistogram recent_base;
  SteadyClock::time_point recent_at{}, recent_base_at{};
  double recent_p95 = 0;
};

struct Pool {
  PoolConfig config;  // its queue holds the effective admission config (pool_admission)
  std::unique_ptr<AdmissionQueue> queue;
  routing::RoutingConfig routing;                 // the pool's own, else the top-level one
  std::unique_ptr<routing::SharedState> routing_state;
  size_t index = 0;                               // in pools_ and LoopContext::policies
  std::unique_ptr<PoolLoad> load = std::make_unique<PoolLoad>();
  std::unique_ptr<RetryBudget> retry_budget;
  struct Pool* offload_to = nullptr;  // config.offload.to
  bool offload_target = false;        // takes another pool's overflow: never chosen by model
};

class Gateway::Impl {
 public:
  explicit Impl(GatewayConfig config);

  ~Impl();

  Result<ReplicaId> add_replica(const std::string& pool, const std::string& spec);

  void start();
  void drain(double timeout_s);
  void stop() { server_.stop(); }
  void join() { server_.join(); }

  scaling::LoadCounters load(const std::string& pool) const;
  std::vector<scaling::RequestSample> take_samples(const std::string& pool);
  size_t queue_depth(const std::string& pool) const;
  void retire_replica(ReplicaId id, std::string_view reason);
  void record_fleet(const std::string& pool, int starting, int ready, int draining, int desired);
  void count_decision(const std::string& pool, std::string_view direction, const std::string& policy);
  void record_host(const std::string& pool, double cpu_pct, double mem_pct);
  void set_admin_scaling(std::function<std::string()> json) { admin_scaling_ = std::move(json); }
  void wait_at_zero(const std::string& pool, std::function<void()> poke);
  uint16_t port() const { return server_.port(); }
  fleet::Registry& registry() { return registry_; }
  const GatewayConfig& config() const { return config_; }
  KeyStore& keys() { return gate_.keys(); }

 private:
  Pool* find_pool(std::string_view name);

  // The pool serving `model`: the first that lists it, else the first that lists none.
  Pool* pool_for(std::string_view model);

  LoopContext& context(const http::asio::any_io_executor& ex);

  // Not a coroutine: hands the request to its route's coroutine, so that a long
  // completion does not also hold a dispatcher's frame (GCC gives every temporary of
  // every branch a slot in a coroutine frame; handle's was 3 KB per open stream).
  http::awaitable<void> handle(ServerRequest& req, Exchange& ex);
  // Every route but the two completion endpoints.
  http::awaitable<void> other_route(ServerRequest& req, Exchange& ex);

  http::awaitable<void> models(Exchange& ex);

  http::awaitable<void> completion(ServerRequest& req, Exchange& ex, openai::Endpoint endpoint, std::string_view name);
  // What the checks before the queue leave for the attempts.
  struct Checked {
    std::optional<openai::CompletionRequest> parsed;
    std::optional<Pass> pass;
    Pool* pool = nullptr;
  };
  // A request refused before it reaches a replica: its answer.
  struct Refusal {
    Error error;
    Headers headers;
  };
  // Parse, key, tier and model: fills `c`, or returns the refusal (counted). Plain
  // functions and a small coroutine rather than one coroutine: a frame over ~1 KB is
  // not recycled by Asio's frame cache (and evicts one that is), and completion's
  // frame, which an open stream holds, would carry every refusal's slots.
  std::unique_ptr<Refusal> screen(ServerRequest& req, openai::Endpoint endpoint, std::string_view name, Checked& c);
  // The key's and its tenant's rate limits (only requests whose key has limits get here).
  http::awaitable<std::unique_ptr<Refusal>> limit(Checked& c, std::string_view name);
  // After the limits: a saturated pool overflows to its offload pool.
  void place(Checked& c);
  // A checked request's attempts, in a frame of its own (each frame under ~1 KB).
  http::awaitable<void> serve(ServerRequest& req, Exchange& ex, Checked& checked, std::string_view name, TimePoint t0);
  // What is sent upstream: the client's request with the pool's credentials.
  UpstreamRequest upstream_request(ServerRequest& req, const Pool& pool);
  // A slot on a replica of the request's pool, waiting in the pool's queue; nullopt when
  // the request was refused (and answered here) or its client left.
  http::awaitable<std::optional<ReplicaId>> wait_for_slot(Exchange& ex, Checked& c, routing::RoutingPolicy& policy,
                                                          const routing::RequestInfo& info,
                                                          std::span<const ReplicaId> tried, const WaitTicker* ticker,
                                                          const std::string& last_error, std::string_view name);
  // The pool that takes this request instead of `pool` when `pool` is saturated (its
  // offload settings), with the reason; nullptr to stay.
  Pool* offload(Pool& pool, const char** reason);
  // One attempt on replica `id`; its outcome goes into `out`.
  http::awaitable<void> try_replica(LoopContext& ctx, Pool& pool, routing::RoutingPolicy& policy,
                                    const routing::RequestInfo& info, const UpstreamRequest& upstream, Exchange& ex,
                                    const ProxyTimeouts& timeouts, TimePoint t0, ReplicaId id, const Pass& pass,
                                    HedgeRace* race, int lane, ProxyOutcome& out);
  // Takes the request's retry-budget token unless it holds one; false when spent.
  bool take_retry(Pool& pool, RetryBudget*& token);
  // The original attempt and, after the tier's hedge delay, a copy elsewhere (completion.cpp).
  // `out` and `answered`: the winning attempt's outcome and replica; `hedged`: the
  // hedge's replica, if one was sent.
  http::awaitable<void> hedged_attempt(LoopContext& ctx, Pool& pool, routing::RoutingPolicy& policy,
                                       const routing::RequestInfo& info, const UpstreamRequest& upstream, Exchange& ex,
                                       const ProxyTimeouts& timeouts, TimePoint t0, ReplicaId id, const Pass& pass,
                                       const std::vector<ReplicaId>& tried, RetryBudget*& retry_token,
                                       std::optional<ReplicaId>& hedged, ProxyOutcome& out, ReplicaId& answered);

  // Coroutine frames are destroyed in ~Impl (server_.shutdown()) before any member.
  GatewayConfig config_;
  Gatekeeper gate_{config_.auth, make_limiter(config_.rate_limits), config_.rate_limits.fail_open};
  std::atomic<bool> draining_{false};  // SIGTERM: not ready, no new connections
  fleet::Registry registry_;
  GatewayMetrics metrics_;
  std::vector<Pool> pools_;
  http::Server server_;
  fleet::HealthChecker health_;
  fleet::EngineScraper scraper_;
  std::vector<std::unique_ptr<LoopContext>> contexts_;
  std::function<std::string()> admin_scaling_;
  std::mutex retired_mu_;
  std::vector<std::pair<ReplicaId, SteadyClock::time_point>> retired_;
};

}  // namespace tidal::gateway
