#include "gateway/detail/gateway_impl.h"

namespace tidal::gateway {

Response json_response(unsigned status, std::string body) {
  Response res{static_cast<bhttp::status>(status), 11};
  res.set(bhttp::field::content_type, "application/json");
  res.set(bhttp::field::server, "tidal");
  res.body() = std::move(body);
  return res;
}


Response error_response(const Error& e) {
  Response res = json_response(openai::http_status(e.kind), openai::error_body(e));
  if (e.kind == ErrorKind::kUnavailable || e.kind == ErrorKind::kRateLimited) res.set(bhttp::field::retry_after, "1");
  return res;
}

http::awaitable<void> respond_error(Exchange& ex, const Error& e, const Headers& headers) {
  if (!ex.started()) {
    Response res = error_response(e);
    for (const auto& [k, v] : headers) res.set(k, v);
    co_await ex.respond(std::move(res));
    co_return;
  }
  // GCC 12 miscompiles co_await on a temporary inside a condition: one step at a time.
  const std::string event = "data: " + openai::error_body(e) + "\n\n";
  const bool written = co_await ex.write_chunk(event);
  if (written) co_await ex.finish_stream();
}

Gateway::Impl::Impl(GatewayConfig config)
    : config_(std::move(config)),
      server_(http::ServerOptions{.host = config_.host,
                                  .port = config_.port,
                                  .threads = config_.threads ? config_.threads
                                                             : std::max(1u, std::thread::hardware_concurrency()),
                                  .max_body_bytes = config_.max_body_bytes,
                                  .idle_timeout = ms(config_.client_idle_timeout_s),
                                  .write_timeout = ms(config_.client_write_timeout_s),
                                  .max_connections = config_.max_connections,
                                  .send_buffer_bytes = static_cast<int>(config_.client_send_buffer_bytes),
                                  .watch_after = std::chrono::milliseconds(config_.disconnect_watch_after_ms),
                                  .server_name = "tidal"},
              [this](ServerRequest& req, Exchange& ex) { return handle(req, ex); },
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
    admission::AdmissionConfig adm = pool_admission(config_, pc);
    std::vector<std::string> tiers;
    for (const auto& t : adm.tiers) tiers.push_back(t.name);
    auto& pm = metrics_.add_pool(pc.name, tiers);
    Pool p{pc, std::make_unique<AdmissionQueue>(registry_, pc.name, std::move(adm), pc.max_queue, pm)};
    p.routing = pc.routing.value_or(config_.routing);
    p.retry_budget = std::make_unique<RetryBudget>(config_.resilience.retry_budget);
    p.routing_state = std::make_unique<routing::SharedState>(p.routing);
    p.index = pools_.size();
    pools_.push_back(std::move(p));
  }
  for (auto& p : pools_) {
    if (p.config.offload.to.empty()) continue;
    p.offload_to = find_pool(p.config.offload.to);
    p.offload_to->offload_target = true;
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

Gateway::Impl::~Impl() {
  // Suspended handlers release queue slots and touch metrics and the registry when
  // destroyed: destroy them while those still exist.
  server_.stop();
  server_.join();
  gate_.limiter().stop();  // completes what waits on Redis before the frames go
  server_.shutdown();
}

Result<ReplicaId> Gateway::Impl::add_replica(const std::string& pool, const std::string& spec) {
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

void Gateway::Impl::drain(double timeout_s) {
  draining_ = true;
  server_.stop_accepting();
  const auto deadline = SteadyClock::now() + ms(timeout_s);
  auto log = logger("gateway");
  log->info("draining requests={} timeout_s={}", server_.stats().requests_active.load(), timeout_s);
  // The caller's thread waits (the event loops keep serving what they hold).
  while (server_.stats().requests_active.load() > 0 && SteadyClock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  const uint64_t left = server_.stats().requests_active.load();
  if (left > 0) {
    log->warn("drain timed out requests_cut={}", left);
  } else {
    log->info("drained");
  }
}

void Gateway::Impl::start() {
  server_.listen();
  server_.start();
  logger("gateway")->info("listening host={} port={} loops={}", config_.host, server_.port(), server_.loops());
}

scaling::LoadCounters Gateway::Impl::load(const std::string& pool) const {
  for (const auto& p : pools_) {
    if (p.config.name == pool) return p.load->snapshot();
  }
  return {};
}

std::vector<scaling::RequestSample> Gateway::Impl::take_samples(const std::string& pool) {
  std::vector<scaling::RequestSample> out;
  for (auto& p : pools_) {
    if (p.config.name != pool) continue;
    p.load->want_samples.store(true, std::memory_order_relaxed);
    std::lock_guard lock(p.load->samples_mu);
    out.swap(p.load->samples);
  }
  return out;
}

size_t Gateway::Impl::queue_depth(const std::string& pool) const {
  for (const auto& p : pools_) {
    if (p.config.name == pool) return p.queue->depth();
  }
  return 0;
}

void Gateway::Impl::retire_replica(ReplicaId id, std::string_view reason) {
  registry_.set_state(id, fleet::ReplicaState::kGone, reason);
  // The policies' shared state (prefix index) forgets it; per-loop state needs nothing.
  if (Pool* p = find_pool(registry_.at(id).pool); p && !contexts_.empty()) {
    contexts_.front()->policies[p->index]->on_removed(id);
  }
  std::lock_guard lock(retired_mu_);
  retired_.push_back({id, SteadyClock::now()});
}

void Gateway::Impl::record_fleet(const std::string& pool, int starting, int ready, int draining, int desired) {
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

void Gateway::Impl::record_host(const std::string& pool, double cpu_pct, double mem_pct) {
  if (Pool* p = find_pool(pool)) {
    p->load->host_cpu_pct.store(cpu_pct, std::memory_order_relaxed);
    p->load->host_mem_pct.store(mem_pct, std::memory_order_relaxed);
  }
}

void Gateway::Impl::count_decision(const std::string& pool, std::string_view direction, const std::string& policy) {
  metrics_.count_decision(pool, direction, policy);
}

void Gateway::Impl::wait_at_zero(const std::string& pool, std::function<void()> poke) {
  if (Pool* p = find_pool(pool)) p->queue->wait_at_zero(std::move(poke));
}

Pool* Gateway::Impl::find_pool(std::string_view name) {
  for (auto& p : pools_) {
    if (p.config.name == name) return &p;
  }
  return nullptr;
}

Pool* Gateway::Impl::pool_for(std::string_view model) {
  for (auto& p : pools_) {
    if (p.offload_target) continue;
    for (const auto& m : p.config.models) {
      if (m == model) return &p;
    }
  }
  for (auto& p : pools_) {
    if (p.config.models.empty() && !p.offload_target) return &p;
  }
  return nullptr;
}

LoopContext& Gateway::Impl::context(const http::asio::any_io_executor& ex) {
  auto& ctx = http::asio::query(ex, http::asio::execution::context);
  for (size_t i = 0; i < server_.loops(); ++i) {
    if (&server_.loop(i) == &ctx) return *contexts_[i];
  }
  TIDAL_CHECK(false && "handler on a foreign loop");
  std::abort();
}

http::awaitable<void> Gateway::Impl::handle(ServerRequest& req, Exchange& ex) {
  const std::string_view target = req.target();
  const std::string_view path = target.substr(0, target.find('?'));
  if (req.method() == bhttp::verb::post && path == "/v1/chat/completions") {
    return completion(req, ex, openai::Endpoint::kChat, "chat");
  }
  if (req.method() == bhttp::verb::post && path == "/v1/completions") {
    return completion(req, ex, openai::Endpoint::kCompletion, "completions");
  }
  return other_route(req, ex);
}

http::awaitable<void> Gateway::Impl::other_route(ServerRequest& req, Exchange& ex) {
  const std::string_view target = req.target();
  const std::string_view path = target.substr(0, target.find('?'));
  const bool get = req.method() == bhttp::verb::get;
  if (get && path == "/v1/models") {
    if (gate_.keys().enabled() && !gate_.keys().find(bearer_token(req[bhttp::field::authorization]))) {
      co_await ex.respond(error_response(make_error(ErrorKind::kAuthentication, "Incorrect API key provided.", "",
                                                    "invalid_api_key")));
    } else {
      co_await models(ex);
    }
  } else if (get && path == "/livez") {
    co_await ex.respond(json_response(200, R"({"status":"ok"})"));
  } else if (get && (path == "/readyz" || path == "/startupz")) {
    // Ready: at least one ready replica and not draining. Started: serving at all.
    size_t ready = 0;
    for (const auto& p : pools_) ready += registry_.count(p.config.name, fleet::ReplicaState::kReady);
    const bool ok = path == "/startupz" || (!draining_ && ready > 0);
    // GCC 12: no temporaries in a conditional inside a co_await expression (miscompiled).
    std::string body = R"({"status":"ok"})";
    if (!ok) body = std::string(R"({"status":"not ready","reason":")") + (draining_ ? "draining" : "no ready replica") + "\"}";
    Response res = json_response(ok ? 200 : 503, std::move(body));
    co_await ex.respond(std::move(res));
  } else if (path.starts_with("/admin/") && !gate_.admin(req)) {
    co_await ex.respond(error_response(make_error(ErrorKind::kAuthentication,
                                                  "/admin/ needs the admin token (Authorization: Bearer ...)", "",
                                                  "invalid_api_key")));
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
    metrics_.sync_internal_errors(internal_errors().load());
    metrics_.sync_limiter_failures(gate_.limiter().failures());
    metrics_.sync_limiter_local(gate_.limiter().local_decisions());
    metrics_.sync_client_watches(server_.stats().watches_armed.load(std::memory_order_relaxed));
    for (const auto& p : pools_) {
      PoolMetrics& pm = metrics_.pool(p.config.name);
      pm.fairness->Set(p.queue->jain_index());
      pm.oldest_wait->Set(p.queue->oldest_wait_s());
    }
    res.body() = metrics_.render();
    co_await ex.respond(std::move(res));
  } else {
    co_await ex.respond(error_response(make_error(
        ErrorKind::kNotFound, "Invalid URL (" + std::string(req.method_string()) + " " + std::string(path) + ")")));
  }
}

http::awaitable<void> Gateway::Impl::models(Exchange& ex) {
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

Result<std::unique_ptr<Gateway>> Gateway::create(GatewayConfig config) {
  if (auto ok = validate(config); !ok) {
    return make_error(ErrorKind::kInvalidRequest, ok.error().param + ": " + ok.error().message, ok.error().param);
  }
  std::unique_ptr<Gateway> g(new Gateway(std::move(config)));
  if (auto ok = g->impl_->keys().reload(); !ok) return ok.error();
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
void Gateway::drain(double timeout_s) { impl_->drain(timeout_s); }
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
void Gateway::record_host(const std::string& pool, double cpu_pct, double mem_pct) {
  impl_->record_host(pool, cpu_pct, mem_pct);
}
void Gateway::set_admin_scaling(std::function<std::string()> json) { impl_->set_admin_scaling(std::move(json)); }
void Gateway::wait_at_zero(const std::string& pool, std::function<void()> poke) {
  impl_->wait_at_zero(pool, std::move(poke));
}
fleet::Registry& Gateway::registry() { return impl_->registry(); }
const GatewayConfig& Gateway::config() const { return impl_->config(); }

}  // namespace tidal::gateway
