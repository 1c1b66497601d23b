#include "gateway/gateway_server.h"

#include <thread>

#include "common/check.h"
#include "common/log.h"
#include "fleet/health_checker.h"
#include "gateway/admission_queue.h"
#include "gateway/gateway_metrics.h"
#include "gateway/models_merge.h"
#include "gateway/proxy.h"
#include "gateway/request_routing.h"
#include "http/client.h"
#include "http/server.h"
#include "openai/error.h"
#include "openai/request.h"

namespace tidal::gateway {
namespace {

namespace bhttp = http::bhttp;
using http::Exchange;
using http::Request;
using http::Response;
using routing::ReplicaId;
using SteadyClock = std::chrono::steady_clock;

Response json_response(unsigned status, std::string body) {
  Response res{static_cast<bhttp::status>(status), 11};
  res.set(bhttp::field::content_type, "application/json");
  res.set(bhttp::field::server, "tidal");
  res.body() = std::move(body);
  return res;
}

// A stream that waited at zero has answered 200 already: later errors go as an SSE
// error event (the OpenAI error body) and the stream ends.
http::awaitable<void> respond_error(Exchange& ex, const Error& e);

Response error_response(const Error& e) {
  Response res = json_response(openai::http_status(e.kind), openai::error_body(e));
  if (e.kind == ErrorKind::kUnavailable || e.kind == ErrorKind::kRateLimited) res.set(bhttp::field::retry_after, "1");
  return res;
}

std::chrono::milliseconds ms(double s) { return std::chrono::milliseconds(static_cast<int64_t>(s * 1000.0)); }

// Per event loop state: nothing here is shared between threads (the policies' shared
// state is the pool's routing::SharedState and the replicas' stats).
struct LoopContext {
  explicit LoopContext(http::asio::any_io_executor ex) : pool(std::move(ex)) {}
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
};

struct Pool {
  PoolConfig config;
  std::unique_ptr<AdmissionQueue> queue;
  routing::RoutingConfig routing;                 // the pool's own, else the top-level one
  std::unique_ptr<routing::SharedState> routing_state;
  size_t index = 0;                               // in pools_ and LoopContext::policies
  std::unique_ptr<PoolLoad> load = std::make_unique<PoolLoad>();
};

http::awaitable<void> respond_error(Exchange& ex, const Error& e) {
  if (!ex.started()) {
    co_await ex.respond(error_response(e));
    co_return;
  }
  // GCC 12 miscompiles co_await on a temporary inside a condition: one step at a time.
  const std::string event = "data: " + openai::error_body(e) + "\n\n";
  const bool written = co_await ex.write_chunk(event);
  if (written) co_await ex.finish_stream();
}

}  // namespace

class Gateway::Impl {
 public:
  explicit Impl(GatewayConfig config)
      : config_(std::move(config)),
        server_(http::ServerOptions{.host = config_.host,
                                    .port = config_.port,
                                    .threads = config_.threads ? config_.threads
                                                               : std::max(1u, std::thread::hardware_concurrency()),
                                    .max_body_bytes = config_.max_body_bytes,
                                    .idle_timeout = ms(config_.client_idle_timeout_s),
                                    .server_name = "tidal"},
                [this](Request& req, Exchange& ex) { return handle(req, ex); },
                [](bhttp::status s, std::string_view msg) {
                  return error_response(make_error(s == bhttp::status::payload_too_large ? ErrorKind::kPayloadTooLarge
                                                                                         : ErrorKind::kInvalidRequest,
                                                   std::string(msg), "",
                                                   s == bhttp::status::payload_too_large ? "request_too_large" : ""));
                }),
        health_(registry_, config_.health),
        scraper_(registry_, config_.scrape) {
    if (config_.pools.empty()) config_.pools.push_back(PoolConfig{});
    for (const auto& pc : config_.pools) {
      auto& pm = metrics_.add_pool(pc.name);
      Pool p{pc, std::make_unique<AdmissionQueue>(registry_, pc.name, QueueConfig{pc.max_queue, ms(pc.queue_timeout_s)}, pm)};
      p.routing = pc.routing.value_or(config_.routing);
      p.routing_state = std::make_unique<routing::SharedState>(p.routing);
      p.index = pools_.size();
      pools_.push_back(std::move(p));
    }
    for (size_t i = 0; i < server_.loops(); ++i) {
      auto ctx = std::make_unique<LoopContext>(server_.loop(i).get_executor());
      for (auto& p : pools_) {
        auto policy = routing::make_policy(p.routing, *p.routing_state, 0x7461646c + i * 131 + p.index);
        TIDAL_CHECK(policy.has_value());  // validated with the config
        ctx->policies.push_back(std::move(*policy));
      }
      contexts_.push_back(std::move(ctx));
    }
    registry_.on_change([this](const fleet::Replica& r, fleet::ReplicaState, fleet::ReplicaState to) {
      if (auto* m = metrics_.find_replica(r.id)) m->ready->Set(to == fleet::ReplicaState::kReady ? 1 : 0);
      if (to == fleet::ReplicaState::kEjected) {
        // Idle connections to it are stale; each loop drops its own.
        for (size_t i = 0; i < server_.loops(); ++i) {
          http::asio::post(server_.loop(i), [ctx = contexts_[i].get(), ep = r.endpoint] { ctx->pool.forget(ep); });
        }
      }
      for (auto& p : pools_) {
        if (p.config.name == r.pool) p.queue->wake();
      }
    });
  }

  ~Impl() {
    // Suspended handlers release queue slots and touch metrics and the registry when
    // destroyed: destroy them while those still exist.
    server_.stop();
    server_.join();
    server_.shutdown();
  }

  Result<ReplicaId> add_replica(const std::string& pool, const std::string& spec) {
    if (!find_pool(pool)) return make_error(ErrorKind::kInvalidRequest, "unknown pool '" + pool + "'", "pool");
    auto upstream = parse_upstream(spec);
    if (!upstream) return upstream.error();
    auto url = http::parse_url(upstream->url);
    if (!url) return url.error();
    auto ep = http::resolve(*url);
    if (!ep) return ep.error();
    const uint32_t limit = find_pool(pool)->config.max_in_flight_per_replica;
    const ReplicaId id = registry_.add(pool, *url, *ep, limit, fleet::ReplicaState::kStarting, upstream->options);
    metrics_.add_replica(id, pool, url->authority());
    health_.watch(id, server_.loop(0).get_executor());
    scraper_.watch(id, server_.loop(0).get_executor());
    logger("gateway")->info("replica added pool={} replica={}", pool, url->authority());
    return id;
  }

  void start() {
    server_.listen();
    server_.start();
    logger("gateway")->info("listening host={} port={} loops={}", config_.host, server_.port(), server_.loops());
  }
  void stop() { server_.stop(); }
  void join() { server_.join(); }

  scaling::LoadCounters load(const std::string& pool) const {
    for (const auto& p : pools_) {
      if (p.config.name == pool) return p.load->snapshot();
    }
    return {};
  }
  std::vector<scaling::RequestSample> take_samples(const std::string& pool) {
    std::vector<scaling::RequestSample> out;
    for (auto& p : pools_) {
      if (p.config.name != pool) continue;
      p.load->want_samples.store(true, std::memory_order_relaxed);
      std::lock_guard lock(p.load->samples_mu);
      out.swap(p.load->samples);
    }
    return out;
  }
  size_t queue_depth(const std::string& pool) const {
    for (const auto& p : pools_) {
      if (p.config.name == pool) return p.queue->depth();
    }
    return 0;
  }
  void retire_replica(ReplicaId id, std::string_view reason) {
    registry_.set_state(id, fleet::ReplicaState::kGone, reason);
    // The policies' shared state (prefix index) forgets it; per-loop state needs nothing.
    if (Pool* p = find_pool(registry_.at(id).pool); p && !contexts_.empty()) {
      contexts_.front()->policies[p->index]->on_removed(id);
    }
    std::lock_guard lock(retired_mu_);
    retired_.push_back({id, SteadyClock::now()});
  }
  void record_fleet(const std::string& pool, int starting, int ready, int draining, int desired) {
    metrics_.set_fleet(pool, starting, ready, draining, desired);
    // Series of retired replicas go once no request can touch them: idle, and long
    // enough gone that no routing decision made before still holds it.
    std::lock_guard lock(retired_mu_);
    const auto now = SteadyClock::now();
    std::erase_if(retired_, [&](const std::pair<ReplicaId, SteadyClock::time_point>& r) {
      if (now - r.second < std::chrono::seconds(2) || registry_.at(r.first).in_flight.load() != 0) return false;
      metrics_.remove_replica(r.first);
      return true;
    });
  }
  void count_decision(const std::string& pool, std::string_view direction, const std::string& policy) {
    metrics_.count_decision(pool, direction, policy);
  }
  void set_admin_scaling(std::function<std::string()> json) { admin_scaling_ = std::move(json); }
  void wait_at_zero(const std::string& pool, std::function<void()> poke) {
    if (Pool* p = find_pool(pool)) p->queue->wait_at_zero(std::move(poke));
  }
  uint16_t port() const { return server_.port(); }
  fleet::Registry& registry() { return registry_; }
  const GatewayConfig& config() const { return config_; }

 private:
  Pool* find_pool(std::string_view name) {
    for (auto& p : pools_) {
      if (p.config.name == name) return &p;
    }
    return nullptr;
  }

  // The pool serving `model`: the first that lists it, else the first that lists none.
  Pool* pool_for(std::string_view model) {
    for (auto& p : pools_) {
      for (const auto& m : p.config.models) {
        if (m == model) return &p;
      }
    }
    for (auto& p : pools_) {
      if (p.config.models.empty()) return &p;
    }
    return nullptr;
  }

  LoopContext& context(const http::asio::any_io_executor& ex) {
    auto& ctx = http::asio::query(ex, http::asio::execution::context);
    for (size_t i = 0; i < server_.loops(); ++i) {
      if (&server_.loop(i) == &ctx) return *contexts_[i];
    }
    TIDAL_CHECK(false && "handler on a foreign loop");
    std::abort();
  }

  http::awaitable<void> handle(Request& req, Exchange& ex) {
    const std::string_view target = req.target();
    const std::string_view path = target.substr(0, target.find('?'));
    const bool get = req.method() == bhttp::verb::get;
    const bool post = req.method() == bhttp::verb::post;
    if (post && path == "/v1/chat/completions") {
      co_await completion(req, ex, openai::Endpoint::kChat, "chat");
    } else if (post && path == "/v1/completions") {
      co_await completion(req, ex, openai::Endpoint::kCompletion, "completions");
    } else if (get && path == "/v1/models") {
      co_await models(ex);
    } else if (get && path == "/healthz") {
      size_t ready = 0;
      for (const auto& p : pools_) ready += registry_.count(p.config.name, fleet::ReplicaState::kReady);
      co_await ex.respond(json_response(200, R"({"status":"ok","ready_replicas":)" + std::to_string(ready) + "}"));
    } else if (get && path == "/admin/scaling") {
      if (!admin_scaling_) {
        co_await ex.respond(error_response(make_error(ErrorKind::kNotFound, "this gateway runs no controller (use tidal serve)")));
      } else {
        co_await ex.respond(json_response(200, admin_scaling_()));
      }
    } else if (get && path == "/metrics") {
      Response res{bhttp::status::ok, 11};
      res.set(bhttp::field::content_type, "text/plain; version=0.0.4; charset=utf-8");
      for (const fleet::Replica* r : *registry_.snapshot()) {
        if (auto* m = metrics_.find_replica(r->id)) metrics_.refresh_routing(*m, r->stats);
      }
      res.body() = metrics_.render();
      co_await ex.respond(std::move(res));
    } else {
      co_await ex.respond(error_response(make_error(
          ErrorKind::kNotFound, "Invalid URL (" + std::string(req.method_string()) + " " + std::string(path) + ")")));
    }
  }

  http::awaitable<void> models(Exchange& ex) {
    auto& ctx = context(co_await http::asio::this_coro::executor);
    std::vector<std::string> bodies;
    for (const fleet::Replica* r : *registry_.snapshot()) {
      if (r->state.load() != fleet::ReplicaState::kReady) continue;
      Request up{bhttp::verb::get, "/v1/models", 11};
      up.set(bhttp::field::host, r->url.authority());
      auto [ec, res] = co_await http::fetch(ctx.pool, r->endpoint, std::move(up), std::chrono::milliseconds(2000));
      if (!ec && res.status == 200) bodies.push_back(std::move(res.body));
    }
    if (bodies.empty()) {
      co_await ex.respond(error_response(make_error(ErrorKind::kUnavailable, "no ready replica answered", "", "no_replica")));
      co_return;
    }
    co_await ex.respond(json_response(200, merge_model_lists(bodies)));
  }

  http::awaitable<void> completion(Request& req, Exchange& ex, openai::Endpoint endpoint, std::string_view name) {
    const auto t0 = SteadyClock::now();
    auto& ctx = context(co_await http::asio::this_coro::executor);
    auto parsed = openai::parse_completion_request(endpoint, req.body());
    if (!parsed) {
      metrics_.count_request("", name, openai::http_status(parsed.error().kind));
      co_await ex.respond(error_response(parsed.error()));
      co_return;
    }
    Pool* pool = pool_for(parsed->model);
    if (!pool) {
      const Error e = make_error(ErrorKind::kNotFound, "The model `" + parsed->model + "` does not exist.", "model",
                                 "model_not_found");
      metrics_.count_request("", name, 404);
      co_await ex.respond(error_response(e));
      co_return;
    }
    const std::string& pool_name = pool->config.name;
    if (!parsed->model.empty() && !registry_.model_served(pool_name, fleet::model_bits(parsed->model))) {
      const Error e = make_error(ErrorKind::kNotFound,
                                 "The model `" + parsed->model + "` is served by no replica of pool '" + pool_name + "'.",
                                 "model", "model_not_found");
      metrics_.count_request(pool_name, name, 404);
      co_await ex.respond(error_response(e));
      co_return;
    }
    pool->load->arrivals.fetch_add(1, std::memory_order_relaxed);
    pool->load->prompt_tokens.fetch_add(parsed->prompt_tokens, std::memory_order_relaxed);
    RoutedRequest routed;
    describe_request(*parsed, req, pool->routing_state->prefix != nullptr, routed);
    const routing::RequestInfo& info = routed.info;
    routing::RoutingPolicy& policy = *ctx.policies[pool->index];

    http::Request upstream = make_upstream_request(req);
    ProxyTimeouts timeouts{std::chrono::milliseconds(config_.connect_timeout_ms), ms(config_.upstream_idle_timeout_s),
                           t0 + ms(config_.request_timeout_s)};
    std::vector<ReplicaId> tried;
    std::string last_error;
    // A stream waiting for scale from zero starts its response and gets SSE comments,
    // so that clients and proxies in between do not time out during the cold start.
    WaitTicker keepalive{ms(config_.stream_keepalive_s), [&ex]() -> http::awaitable<bool> {
                           if (!ex.started()) {
                             bhttp::response<bhttp::empty_body> head{bhttp::status::ok, 11};
                             head.set(bhttp::field::content_type, "text/event-stream");
                             head.set(bhttp::field::cache_control, "no-cache");
                             head.set(bhttp::field::server, "tidal");
                             const bool started = co_await ex.start_stream(std::move(head));
                             if (!started) co_return false;
                           }
                           const bool written = co_await ex.write_chunk(": waiting for a replica to start\n\n");
                           co_return written;
                         }};
    const WaitTicker* ticker = parsed->stream ? &keepalive : nullptr;
    for (uint32_t attempt = 0; attempt < config_.max_attempts; ++attempt) {
      auto admitted = co_await pool->queue->admit(policy, info, tried, ticker);
      if (!admitted) {
        if (admitted.error().code == "cancelled") co_return;
        Error e = admitted.error();
        if (!last_error.empty() && e.code == "no_replica") {
          e = make_error(ErrorKind::kUpstream, "all upstream attempts failed; last: " + last_error, "", "upstream_error");
        }
        metrics_.count_request(pool_name, name, openai::http_status(e.kind));
        co_await respond_error(ex, e);
        co_return;
      }
      const ReplicaId id = *admitted;
      struct Slot {
        AdmissionQueue& q;
        ReplicaMetrics& m;
        ReplicaId id;
        ~Slot() {
          m.in_flight->Decrement();
          q.release(id);
        }
      } slot{*pool->queue, metrics_.replica(id), id};
      slot.m.in_flight->Increment();
      fleet::Replica& replica = registry_.at(id);
      const uint32_t dispatch_in_flight = replica.in_flight.load(std::memory_order_relaxed);
      // The request's routing bookkeeping on the replica; released however this frame
      // ends (a frame destroyed while suspended counts as cancelled).
      struct Dispatch {
        routing::ReplicaStats& stats;
        routing::Ticket ticket;
        double half_life_s;
        bool done = false;
        void finish(const routing::Outcome& o, TimePoint now) {
          routing::finished(stats, ticket, o, now, half_life_s);
          done = true;
        }
        ~Dispatch() {
          if (!done) finish(routing::Outcome{routing::OutcomeKind::kCancelled, {}, {}, 0}, SteadyClock::now());
        }
      } dispatch{replica.stats, routing::dispatched(replica.stats, info, policy.on_dispatch(id, info)),
                 pool->routing.half_life_s};
      const auto sent = SteadyClock::now();
      ProxyOutcome out = co_await proxy_exchange(ctx.pool, replica, upstream, ex, timeouts, t0, dispatch.ticket);
      {
        const auto now = SteadyClock::now();
        const routing::Outcome outcome = routing_outcome(out, now - sent);  // the replica's time, not the queue's
        dispatch.finish(outcome, now);
        const routing::Ticket& ticket = dispatch.ticket;
        policy.on_complete(id, outcome, now);
        if (out.cached_tokens && out.prompt_tokens) {
          routing::observed_usage(replica.stats, ticket, *out.prompt_tokens, *out.cached_tokens);
        }
        if (out.result == ProxyResult::kDone) metrics_.count_replica_request(slot.m, out.status);
      }

      switch (out.error) {
        case UpstreamError::kConnect: slot.m.errors_connect->Increment(); break;
        case UpstreamError::kReset: slot.m.errors_reset->Increment(); break;
        case UpstreamError::kTimeout: slot.m.errors_timeout->Increment(); break;
        case UpstreamError::kNone: break;
      }
      if (out.refused) registry_.set_state(id, fleet::ReplicaState::kEjected, "connection refused");
      // Retryable: nothing of the upstream's reached the client (keep-alive comments may have).
      if (out.result == ProxyResult::kRetryable) {
        logger("gateway")->warn("upstream attempt failed replica={} attempt={} error={}", replica.name(), attempt + 1,
                                out.message);
        last_error = out.message;
        tried.push_back(id);
        if (attempt + 1 < config_.max_attempts) metrics_.pool(pool_name).retries->Increment();
        continue;
      }
      if (out.result == ProxyResult::kClientGone) co_return;
      if (out.status >= 500) slot.m.errors_status->Increment();
      if (out.result == ProxyResult::kDone) {
        const double e2e_s = std::chrono::duration<double>(SteadyClock::now() - t0).count();
        slot.m.ttft->Observe(to_s(out.ttft));
        slot.m.e2e->Observe(e2e_s);
        PoolLoad::observe(pool->load->ttft_ms, to_ms(out.ttft));
        PoolLoad::observe(pool->load->e2e_ms, e2e_s * 1000);
        PoolLoad& load = *pool->load;
        load.output_tokens.fetch_add(out.output_tokens, std::memory_order_relaxed);
        // TPOT: the mean gap between relayed tokens after the first.
        const double tpot_ms =
            out.streamed && out.output_tokens > 1 ? to_ms(out.last_byte - out.ttft) / (out.output_tokens - 1) : 0;
        if (tpot_ms > 0) PoolLoad::observe(load.tpot_ms, tpot_ms);
        if (load.want_samples.load(std::memory_order_relaxed) && out.status == 200) {
          const uint32_t now_in_flight = replica.in_flight.load(std::memory_order_relaxed);
          load.add_sample({out.prompt_tokens.value_or(parsed->prompt_tokens), out.output_tokens,
                           out.streamed ? to_ms(out.ttft) : 0, tpot_ms, (dispatch_in_flight + now_in_flight) / 2.0,
                           dispatch_in_flight <= 1});
        }
        metrics_.count_request(pool_name, name, out.status);
      } else {
        logger("gateway")->warn("stream broken replica={} error={}", replica.name(), out.message);
        metrics_.count_request(pool_name, name, 502);
      }
      co_return;
    }
    const Error e = make_error(ErrorKind::kUpstream, "all upstream attempts failed; last: " + last_error, "",
                               "upstream_error");
    metrics_.count_request(pool_name, name, 502);
    co_await respond_error(ex, e);
  }

  // Coroutine frames are destroyed in ~Impl (server_.shutdown()) before any member.
  GatewayConfig config_;
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

Result<std::unique_ptr<Gateway>> Gateway::create(GatewayConfig config) {
  if (auto ok = validate(config); !ok) {
    return make_error(ErrorKind::kInvalidRequest, ok.error().param + ": " + ok.error().message, ok.error().param);
  }
  std::unique_ptr<Gateway> g(new Gateway(std::move(config)));
  for (const auto& pool : g->impl_->config().pools) {
    for (const auto& url : pool.replicas) {
      auto id = g->add_replica(pool.name, url);
      if (!id) return id.error();
    }
  }
  return g;
}

Gateway::Gateway(GatewayConfig config) : impl_(std::make_unique<Impl>(std::move(config))) {}
Gateway::~Gateway() {
  impl_->stop();
  impl_->join();
}
Result<fleet::ReplicaId> Gateway::add_replica(const std::string& pool, const std::string& url) {
  return impl_->add_replica(pool, url);
}
void Gateway::start() { impl_->start(); }
void Gateway::stop() { impl_->stop(); }
void Gateway::join() { impl_->join(); }
uint16_t Gateway::port() const { return impl_->port(); }
scaling::LoadCounters Gateway::load(const std::string& pool) const { return impl_->load(pool); }
std::vector<scaling::RequestSample> Gateway::take_samples(const std::string& pool) { return impl_->take_samples(pool); }
size_t Gateway::queue_depth(const std::string& pool) const { return impl_->queue_depth(pool); }
void Gateway::retire_replica(fleet::ReplicaId id, std::string_view reason) { impl_->retire_replica(id, reason); }
void Gateway::record_fleet(const std::string& pool, int starting, int ready, int draining, int desired) {
  impl_->record_fleet(pool, starting, ready, draining, desired);
}
void Gateway::count_decision(const std::string& pool, std::string_view direction, const std::string& policy) {
  impl_->count_decision(pool, direction, policy);
}
void Gateway::set_admin_scaling(std::function<std::string()> json) { impl_->set_admin_scaling(std::move(json)); }
void Gateway::wait_at_zero(const std::string& pool, std::function<void()> poke) {
  impl_->wait_at_zero(pool, std::move(poke));
}
fleet::Registry& Gateway::registry() { return impl_->registry(); }
const GatewayConfig& Gateway::config() const { return impl_->config(); }

}  // namespace tidal::gateway
