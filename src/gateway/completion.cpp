// The request path: parse → gatekeeper (key, tier, limits) → admission queue → route
// → proxy, with retries on another replica before the first byte.
#include "gateway/detail/gateway_impl.h"

namespace tidal::gateway {
namespace {

using namespace boost::asio::experimental::awaitable_operators;

// The queue's refusal codes, as drop reasons.
std::optional<DropReason> drop_reason_of(const Error& e) {
  if (e.code == "queue_full") return DropReason::kQueueFull;
  if (e.code == "queue_timeout") return DropReason::kDeadline;
  if (e.code == "shed") return DropReason::kShed;
  if (e.code == "no_replica") return DropReason::kNoReplica;
  return std::nullopt;
}

Headers with_reason(Headers h, std::optional<DropReason> r) {
  if (r) h.emplace_back("x-tidal-drop-reason", name(*r));
  return h;
}

// The answer when every attempt failed (its error a slot of this frame, not completion's).
http::awaitable<void> respond_all_failed(Exchange& ex, const std::string& last_error, const Headers& headers) {
  const Error e =
      make_error(ErrorKind::kUpstream, "all upstream attempts failed; last: " + last_error, "", "upstream_error");
  co_await respond_error(ex, e, headers);
}

}  // namespace

std::unique_ptr<Gateway::Impl::Refusal> Gateway::Impl::screen(ServerRequest& req, openai::Endpoint endpoint,
                                                              std::string_view name, Checked& c) {
  auto refuse = [](Error e, Headers headers = {}) {
    return std::make_unique<Refusal>(Refusal{std::move(e), std::move(headers)});
  };
  auto read = openai::parse_completion_request(endpoint, req.body());
  if (!read) {
    metrics_.count_request("", name, openai::http_status(read.error().kind));
    return refuse(std::move(read.error()));
  }
  const openai::CompletionRequest& parsed = c.parsed.emplace(std::move(*read));
  Pool* pool = pool_for(parsed.model);
  // Who it is, its tier and its limits (401 / 404 / 400 / 429 before anything else).
  auto gate = gate_.check(req, parsed, (pool ? *pool : pools_.front()).queue->config());
  if (auto* d = std::get_if<Denial>(&gate)) {
    if (pool && d->reason) metrics_.pool(pool->config.name).reject(d->tier, *d->reason);
    metrics_.count_request(pool ? pool->config.name : "", name, openai::http_status(d->error.kind));
    return refuse(std::move(d->error), with_reason(std::move(d->headers), d->reason));
  }
  c.pass = std::get<Pass>(std::move(gate));
  if (!pool) {
    metrics_.count_request("", name, 404);
    return refuse(make_error(ErrorKind::kNotFound, "The model `" + parsed.model + "` does not exist.", "model",
                             "model_not_found"));
  }
  if (!parsed.model.empty() && !registry_.model_served(pool->config.name, fleet::model_bits(parsed.model))) {
    metrics_.count_request(pool->config.name, name, 404);
    return refuse(make_error(ErrorKind::kNotFound,
                             "The model `" + parsed.model + "` is served by no replica of pool '" + pool->config.name +
                                 "'.",
                             "model", "model_not_found"));
  }
  c.pool = pool;
  return nullptr;
}

// Rate limits come after the model checks: a refused request reserves nothing.
http::awaitable<std::unique_ptr<Gateway::Impl::Refusal>> Gateway::Impl::limit(Checked& c, std::string_view name) {
  std::optional<Denial> limited = co_await gate_.limit(*c.pass, *c.parsed);
  if (!limited) co_return nullptr;
  if (limited->reason) metrics_.pool(c.pool->config.name).reject(limited->tier, *limited->reason);
  metrics_.count_request(c.pool->config.name, name, openai::http_status(limited->error.kind));
  co_return std::make_unique<Refusal>(
      Refusal{std::move(limited->error), with_reason(std::move(limited->headers), limited->reason)});
}

void Gateway::Impl::place(Checked& c) {
  const char* why = nullptr;
  Pool* target = offload(*c.pool, &why);
  if (!target) return;
  metrics_.count_offload(c.pool->config.name, target->config.name, why);
  Pass& pass = *c.pass;
  // The request keeps its tier by name.
  const int t = target->queue->config().tier_index(c.pool->queue->config().tiers[pass.who.tier].name);
  pass.who.tier = t >= 0 ? static_cast<uint32_t>(t) : target->queue->config().default_index();
  c.pool = target;
}

UpstreamRequest Gateway::Impl::upstream_request(ServerRequest& req, const Pool& pool) {
  return make_upstream_request(req, gate_.keys().enabled(),
                               pool.config.upstream_api_key.empty() ? "" : "Bearer " + pool.config.upstream_api_key);
}

http::awaitable<std::optional<ReplicaId>> Gateway::Impl::wait_for_slot(Exchange& ex, Checked& c,
                                                                       routing::RoutingPolicy& policy,
                                                                       const routing::RequestInfo& info,
                                                                       std::span<const ReplicaId> tried,
                                                                       const WaitTicker* ticker,
                                                                       const std::string& last_error,
                                                                       std::string_view name) {
  auto admitted = co_await c.pool->queue->admit(policy, info, tried, c.pass->who, ticker);
  if (admitted) co_return *admitted;
  if (admitted.error().code == "cancelled") co_return std::nullopt;
  Error e = admitted.error();
  std::optional<DropReason> reason = drop_reason_of(e);
  if (!last_error.empty() && e.code == "no_replica") {
    e = make_error(ErrorKind::kUpstream, "all upstream attempts failed; last: " + last_error, "", "upstream_error");
    reason.reset();
  }
  metrics_.count_request(c.pool->config.name, name, openai::http_status(e.kind));
  co_await respond_error(ex, e, with_reason(c.pass->headers, reason));
  co_return std::nullopt;
}

http::awaitable<void> Gateway::Impl::completion(ServerRequest& req, Exchange& ex, openai::Endpoint endpoint, std::string_view name) {
  const auto t0 = SteadyClock::now();
  Checked checked;
  std::unique_ptr<Refusal> refused = screen(req, endpoint, name, checked);
  if (!refused && gate_.limited(*checked.pass)) refused = co_await limit(checked, name);
  if (refused) {
    co_await respond_error(ex, refused->error, refused->headers);
    co_return;
  }
  place(checked);
  co_await serve(req, ex, checked, name, t0);
}

http::awaitable<void> Gateway::Impl::serve(ServerRequest& req, Exchange& ex, Checked& checked, std::string_view name,
                                           TimePoint t0) {
  auto& ctx = context(co_await http::asio::this_coro::executor);
  const openai::CompletionRequest* parsed = &*checked.parsed;
  Pass& pass = *checked.pass;
  Pool* pool = checked.pool;
  const std::string& pool_name = pool->config.name;
  // The token ledger: the reservation is charged to the tenant's fairness counter when a
  // slot is taken, and both it and the rate limits are settled with the tokens used.
  struct Settle {
    Gatekeeper& gate;
    AdmissionQueue& queue;
    const Pass& pass;
    double charged = 0, used = 0;
    ~Settle() {
      gate.finish(pass, used);
      if (charged > 0) queue.charge(pass.who, used - charged);
    }
  } settle{gate_, *pool->queue, pass};
  pool->load->arrivals.fetch_add(1, std::memory_order_relaxed);
  pool->load->prompt_tokens.fetch_add(parsed->prompt_tokens, std::memory_order_relaxed);
  RoutedRequest routed;
  describe_request(*parsed, req, pool->routing_state->prefix != nullptr, routed);
  const routing::RequestInfo& info = routed.info;
  routing::RoutingPolicy& policy = *ctx.policies[pool->index];

  const UpstreamRequest upstream = upstream_request(req, *pool);
  ProxyTimeouts timeouts{std::chrono::milliseconds(config_.connect_timeout_ms), ms(config_.upstream_idle_timeout_s),
                         t0 + ms(config_.request_timeout_s)};
  std::vector<ReplicaId> tried;
  std::string last_error;
  RetryBudget::Active active(*pool->retry_budget);
  // A retry holds a token of the pool's retry budget for its attempt.
  struct RetryToken {
    RetryBudget* budget = nullptr;
    ~RetryToken() {
      if (budget) budget->end_retry();
    }
  } retry_token;
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
  // A retry after a failed connect is free: the replica never received the request, so
  // trying another adds no load (the budget bounds amplification, as nginx's
  // proxy_next_upstream never counts these). max_attempts still bounds it.
  bool never_sent = false;
  for (uint32_t attempt = 0; attempt < config_.max_attempts; ++attempt) {
    if (attempt > 0 && !never_sent && !take_retry(*pool, retry_token.budget)) {
      break;  // the budget is spent: answer with the last error
    }
    // A free slot now, without a frame for the queue; else wait in it.
    std::optional<ReplicaId> slot = pool->queue->try_admit_now(policy, info, tried, pass.who.tier);
    if (!slot) slot = co_await wait_for_slot(ex, checked, policy, info, tried, ticker, last_error, name);
    if (!slot) co_return;
    const ReplicaId id = *slot;
    if (settle.charged == 0) {
      settle.charged = static_cast<double>(parsed->prompt_tokens) +
                       (parsed->max_tokens ? *parsed->max_tokens : kDefaultReservedOutputTokens);
      pool->queue->charge(pass.who, settle.charged);
    }
    std::optional<ReplicaId> hedged;  // the hedge's replica, if one was sent
    ProxyOutcome out;                 // the answering attempt's
    ReplicaId answered = id;
    const admission::TierConfig& tier = pool->queue->config().tiers[pass.who.tier];
    if (!tier.hedge) {
      co_await try_replica(ctx, *pool, policy, info, upstream, ex, timeouts, t0, id, pass, nullptr, 0, out);
    } else {
      co_await hedged_attempt(ctx, *pool, policy, info, upstream, ex, timeouts, t0, id, pass, tried,
                              retry_token.budget, hedged, out, answered);
    }
    if (out.result != ProxyResult::kRetryable) {
      settle.used = static_cast<double>(out.prompt_tokens.value_or(parsed->prompt_tokens)) + out.output_tokens;
    }
    // Retryable: nothing of the upstream's reached the client (keep-alive comments may have).
    if (out.result == ProxyResult::kRetryable) {
      last_error = out.message;
      never_sent = out.error == UpstreamError::kConnect && !hedged;
      tried.push_back(id);
      if (hedged) tried.push_back(*hedged);
      if (attempt + 1 < config_.max_attempts) metrics_.pool(pool_name).retries->Increment();
      continue;
    }
    if (out.result == ProxyResult::kClientGone || out.result == ProxyResult::kLost) co_return;
    if (out.result == ProxyResult::kDone) {
      metrics_.count_request(pool_name, name, out.status);
    } else {
      logger("gateway")->warn("stream broken replica={} error={}", registry_.at(answered).name(), out.message);
      metrics_.count_request(pool_name, name, 502);
    }
    co_return;
  }
  metrics_.count_request(pool_name, name, 502);
  co_await respond_all_failed(ex, last_error, pass.headers);
}

// Hedging: no first token after the tier's delay → a copy on another free replica; the
// first to answer claims the client and closes the other's upstream connection. In a
// frame of its own: the timer and the race live only in hedged tiers' requests (an
// open stream holds completion()'s frame for its whole length).
http::awaitable<void> Gateway::Impl::hedged_attempt(LoopContext& ctx, Pool& pool, routing::RoutingPolicy& policy,
                                                    const routing::RequestInfo& info, const UpstreamRequest& upstream,
                                                    Exchange& ex, const ProxyTimeouts& timeouts, TimePoint t0,
                                                    ReplicaId id, const Pass& pass, const std::vector<ReplicaId>& tried,
                                                    RetryBudget*& retry_token, std::optional<ReplicaId>& hedged,
                                                    ProxyOutcome& out, ReplicaId& answered) {
  const admission::TierConfig& tier = pool.queue->config().tiers[pass.who.tier];
  HedgeRace race;
  ProxyOutcome outs[2];
  http::asio::steady_timer delay(co_await http::asio::this_coro::executor);
  auto original = [&]() -> http::awaitable<void> {
    co_await try_replica(ctx, pool, policy, info, upstream, ex, timeouts, t0, id, pass, &race, 0, outs[0]);
    delay.cancel();  // answered (or failed) before the delay: no hedge
  };
  auto hedge = [&]() -> http::awaitable<void> {
    delay.expires_after(ms((tier.hedge_delay_ms > 0 ? tier.hedge_delay_ms : pool.load->recent_ttft_p95_ms()) / 1000));
    auto [ec] = co_await delay.async_wait(http::use_tuple);
    if (ec || race.winner >= 0) co_return;
    if (!take_retry(pool, retry_token)) co_return;
    std::vector<ReplicaId> exclude = tried;
    exclude.push_back(id);
    hedged = pool.queue->try_admit_now(policy, info, exclude, pass.who.tier);
    if (!hedged) co_return;
    metrics_.pool(pool.config.name).hedges->Increment();
    co_await try_replica(ctx, pool, policy, info, upstream, ex, timeouts, t0, *hedged, pass, &race, 1, outs[1]);
  };
  co_await (original() && hedge());
  const bool hedge_won = race.winner == 1;
  if (hedge_won) metrics_.pool(pool.config.name).hedges_won->Increment();
  out = std::move(outs[hedge_won ? 1 : 0]);
  answered = hedge_won ? *hedged : id;
}

// A request holds at most one token of its pool's retry budget, taken by its first retry
// or hedge; false (and counted) when the budget is spent.
bool Gateway::Impl::take_retry(Pool& pool, RetryBudget*& token) {
  if (token) return true;
  if (!pool.retry_budget->try_retry()) {
    metrics_.pool(pool.config.name).retries_denied->Increment();
    return false;
  }
  token = pool.retry_budget.get();
  return true;
}

Pool* Gateway::Impl::offload(Pool& pool, const char** reason) {
  if (!pool.offload_to) return nullptr;
  const OffloadConfig& o = pool.config.offload;
  if (o.queue_wait_s > 0 && pool.queue->oldest_wait_s() >= o.queue_wait_s) {
    *reason = "queue_wait";
    return pool.offload_to;
  }
  const double cpu = pool.load->host_cpu_pct.load(std::memory_order_relaxed);
  if (o.cpu_threshold_pct > 0 && cpu >= 0 && cpu > o.cpu_threshold_pct) {
    *reason = "cpu";
    return pool.offload_to;
  }
  const double mem = pool.load->host_mem_pct.load(std::memory_order_relaxed);
  if (o.memory_threshold_pct > 0 && mem >= 0 && mem > o.memory_threshold_pct) {
    *reason = "memory";
    return pool.offload_to;
  }
  return nullptr;
}

// One upstream attempt on replica `id` (whose slot the caller took): the replica's
// bookkeeping (slot, routing ticket, breaker, metrics) around proxy_exchange.
http::awaitable<void> Gateway::Impl::try_replica(LoopContext& ctx, Pool& pool, routing::RoutingPolicy& policy,
                                                 const routing::RequestInfo& info, const UpstreamRequest& upstream,
                                                 Exchange& ex, const ProxyTimeouts& timeouts, TimePoint t0,
                                                 ReplicaId id, const Pass& pass, HedgeRace* race, int lane,
                                                 ProxyOutcome& out) {
  struct Slot {
    AdmissionQueue& q;
    ReplicaMetrics& m;
    ReplicaId id;
    uint32_t tier;
    ~Slot() {
      m.in_flight->Decrement();
      q.release(id, tier);
    }
  } slot{*pool.queue, metrics_.replica(id), id, pass.who.tier};
  slot.m.in_flight->Increment();
  fleet::Replica& replica = registry_.at(id);
  replica.breaker.on_dispatch(SteadyClock::now().time_since_epoch().count());
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
             pool.routing.half_life_s};
  const auto sent = SteadyClock::now();
  co_await proxy_exchange(ctx.pool, replica, upstream, ex, timeouts, t0, dispatch.ticket, out, pass.headers, race,
                          lane);
  const auto now = SteadyClock::now();
  const routing::Outcome outcome = routing_outcome(out, now - sent);  // the replica's time, not the queue's
  dispatch.finish(outcome, now);
  policy.on_complete(id, outcome, now);
  if (out.cached_tokens && out.prompt_tokens) {
    routing::observed_usage(replica.stats, dispatch.ticket, *out.prompt_tokens, *out.cached_tokens);
  }
  record_attempt(registry_, replica, out, config_.resilience.breaker, slot.m);
  switch (out.error) {
    case UpstreamError::kConnect: slot.m.errors_connect->Increment(); break;
    case UpstreamError::kReset: slot.m.errors_reset->Increment(); break;
    case UpstreamError::kTimeout: slot.m.errors_timeout->Increment(); break;
    case UpstreamError::kNone: break;
  }
  if (out.refused) registry_.set_state(id, fleet::ReplicaState::kEjected, "connection refused");
  if (out.result == ProxyResult::kRetryable) {
    logger("gateway")->warn("upstream attempt failed replica={} error={}", replica.name(), out.message);
  }
  if (out.result != ProxyResult::kDone) co_return;
  metrics_.count_replica_request(slot.m, out.status);
  if (pool.config.cost_per_1k_tokens > 0) {
    const double tokens = static_cast<double>(out.prompt_tokens.value_or(info.prompt_tokens)) + out.output_tokens;
    metrics_.pool(pool.config.name).cost_usd->Increment(tokens / 1000 * pool.config.cost_per_1k_tokens);
  }
  if (out.status >= 500) slot.m.errors_status->Increment();
  const double e2e_s = std::chrono::duration<double>(now - t0).count();
  slot.m.ttft->observe(to_s(out.ttft));
  slot.m.e2e->observe(e2e_s);
  PoolLoad& load = *pool.load;
  PoolLoad::observe(load.ttft_ms, to_ms(out.ttft));
  PoolLoad::observe(load.e2e_ms, e2e_s * 1000);
  load.output_tokens.fetch_add(out.output_tokens, std::memory_order_relaxed);
  // TPOT: the mean gap between relayed tokens after the first.
  const double tpot_ms =
      out.streamed && out.output_tokens > 1 ? to_ms(out.last_byte - out.ttft) / (out.output_tokens - 1) : 0;
  if (tpot_ms > 0) PoolLoad::observe(load.tpot_ms, tpot_ms);
  if (load.want_samples.load(std::memory_order_relaxed) && out.status == 200) {
    const uint32_t now_in_flight = replica.in_flight.load(std::memory_order_relaxed);
    load.add_sample({out.prompt_tokens.value_or(info.prompt_tokens), out.output_tokens, out.streamed ? to_ms(out.ttft) : 0,
                     tpot_ms, (dispatch_in_flight + now_in_flight) / 2.0, dispatch_in_flight <= 1});
  }
  co_return;
}

}  // namespace tidal::gateway
