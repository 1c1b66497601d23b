// Traffic management end to end: API keys, rate limits, tiers and deadlines in a
// saturated queue, graceful drain, broken upstream streams and stalled clients — real
// `tidal gateway` and `tidal engine` processes on loopback.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/socket.h>

#include <atomic>
#include <boost/json.hpp>
#include <fstream>
#include <mutex>
#include <thread>

#include "e2e/support.h"

namespace tidal::e2e {
namespace {

using namespace std::chrono_literals;
namespace json = boost::json;

Fields bearer(const std::string& key) { return {{"Authorization", "Bearer " + key}}; }

// A long request holding the only slot of a pool (max_in_flight 1); joined on scope exit.
std::jthread hold_slot(const Gateway& gw, uint32_t tokens, const std::string& pool_filter = "") {
  std::jthread hog([port = gw.port, tokens] { call(port, "POST", "/v1/chat/completions", chat_body("hog", tokens)); });
  EXPECT_TRUE(wait_until([&] { return metric_sum(call(gw.port, "GET", "/metrics").body, "tidal_in_flight", pool_filter) == 1; }, 10s));
  return hog;
}

std::string error_code(const Reply& r) {
  try {
    return std::string(json::parse(r.body).at("error").at("code").as_string());
  } catch (...) {
    return "";
  }
}

TEST(TrafficE2E, ApiKeysGateRequestsAndKeysFileReloads) {
  Engine e = start_engine();
  const std::string keys_file = write_temp("keys.yaml", "keys: []\n");
  const std::string cfg = write_temp("auth.yaml", R"(
auth:
  admin_token: admin-secret
  keys_file: )" + keys_file + R"(
  keys:
    - {key: sk-alpha, name: alpha, models: [tidal-tiny]}
)");
  Gateway gw = start_gateway({e.port}, 1, {"-c", cfg});
  const std::string body = R"({"model":"tidal-tiny","messages":[{"role":"user","content":"hi"}],"max_tokens":2})";

  auto none = call(gw.port, "POST", "/v1/chat/completions", body);
  EXPECT_EQ(none.status, 401u);
  EXPECT_EQ(error_code(none), "invalid_api_key");
  EXPECT_EQ(std::string(json::parse(none.body).at("error").at("type").as_string()), "authentication_error");
  EXPECT_EQ(call(gw.port, "POST", "/v1/chat/completions", body, bearer("sk-wrong")).status, 401u);
  EXPECT_EQ(call(gw.port, "POST", "/v1/chat/completions", body, bearer("sk-alpha")).status, 200u);
  // A model the key may not use is "not found" for it.
  auto other = call(gw.port, "POST", "/v1/chat/completions",
                    R"({"model":"other","messages":[{"role":"user","content":"hi"}]})", bearer("sk-alpha"));
  EXPECT_EQ(other.status, 404u);
  EXPECT_EQ(error_code(other), "model_not_found");
  EXPECT_EQ(call(gw.port, "GET", "/v1/models").status, 401u);
  EXPECT_EQ(call(gw.port, "GET", "/v1/models", {}, bearer("sk-alpha")).status, 200u);

  // /admin/* needs the admin token; a client key is not enough.
  EXPECT_EQ(call(gw.port, "GET", "/admin/scaling").status, 401u);
  EXPECT_EQ(call(gw.port, "GET", "/admin/scaling", {}, bearer("sk-alpha")).status, 401u);
  EXPECT_EQ(call(gw.port, "GET", "/admin/scaling", {}, bearer("admin-secret")).status, 404u);  // no controller here

  // A key added to the file is accepted once the gateway sees the change; keys never reach the log.
  std::ofstream(keys_file) << "keys:\n  - {key: sk-beta, name: beta}\n";
  EXPECT_TRUE(wait_until([&] { return call(gw.port, "POST", "/v1/chat/completions", body, bearer("sk-beta")).status == 200; }, 10s));
  const std::string log = gw.proc->log();
  EXPECT_EQ(log.find("sk-alpha"), std::string::npos);
  EXPECT_EQ(log.find("sk-beta"), std::string::npos);
  EXPECT_NE(log.find("api keys loaded"), std::string::npos);
}

TEST(TrafficE2E, RateLimitedKeyGets429WithOpenAiHeaders) {
  Engine e = start_engine();
  const std::string cfg = write_temp("limits.yaml", R"(
auth:
  keys:
    - {key: sk-limited, name: limited, limits: {requests_per_min: 2, tokens_per_min: 100000}}
    - {key: sk-free, name: unlimited}
)");
  Gateway gw = start_gateway({e.port}, 1, {"-c", cfg});
  const std::string body = chat_body("hello", 4);
  auto first = call(gw.port, "POST", "/v1/chat/completions", body, bearer("sk-limited"));
  ASSERT_EQ(first.status, 200u) << first.body;
  EXPECT_EQ(first.raw.header("x-ratelimit-limit-requests"), "2");
  EXPECT_EQ(first.raw.header("x-ratelimit-remaining-requests"), "1");
  EXPECT_EQ(first.raw.header("x-ratelimit-limit-tokens"), "100000");
  EXPECT_FALSE(first.raw.header("x-ratelimit-reset-tokens").empty());
  EXPECT_EQ(call(gw.port, "POST", "/v1/chat/completions", body, bearer("sk-limited")).status, 200u);
  auto third = call(gw.port, "POST", "/v1/chat/completions", body, bearer("sk-limited"));
  EXPECT_EQ(third.status, 429u);
  EXPECT_EQ(error_code(third), "rate_limit_exceeded");
  EXPECT_EQ(std::string(json::parse(third.body).at("error").at("type").as_string()), "rate_limit_error");
  EXPECT_EQ(third.raw.header("x-tidal-drop-reason"), "rate_limited");
  EXPECT_EQ(third.raw.header("x-ratelimit-remaining-requests"), "0");
  EXPECT_EQ(third.raw.header("Retry-After"), "30");  // one request per 30 s
  // Another key is not affected.
  EXPECT_EQ(call(gw.port, "POST", "/v1/chat/completions", body, bearer("sk-free")).status, 200u);
  const auto m = call(gw.port, "GET", "/metrics").body;
  EXPECT_EQ(metric_sum(m, "tidal_queue_rejected_total", "reason=\"rate_limited\""), 1);
}

// One engine slot, a hog holding it: queued requests are served by tier, not arrival.
TEST(TrafficE2E, PrioritiesReorderASaturatedQueue) {
  Engine e = start_engine();
  const std::string cfg = write_temp("tiers.yaml", R"(
admission:
  default_tier: free
  tiers:
    - {name: paid, max_queue_wait_s: 30}
    - {name: free, max_queue_wait_s: 30}
)");
  Gateway gw = start_gateway({e.port}, 1, {"-c", cfg, "--max-in-flight", "1"});
  std::jthread hog = hold_slot(gw, 500);

  std::mutex mu;
  std::vector<std::string> finished;
  auto send = [&](const std::string& who, const std::string& tier) {
    auto r = call(gw.port, "POST", "/v1/chat/completions", chat_body(who, 20), {{"x-tidal-priority", tier}});
    EXPECT_EQ(r.status, 200u) << who << ": " << r.body;
    std::lock_guard lock(mu);
    finished.push_back(who);
  };
  std::vector<std::thread> clients;
  for (int i = 0; i < 3; ++i) clients.emplace_back(send, "free" + std::to_string(i), "free");
  ASSERT_TRUE(wait_until([&] {
    return metric_sum(call(gw.port, "GET", "/metrics").body, "tidal_queue_depth", "tier=\"free\"") == 3;
  }, 10s));
  clients.emplace_back(send, "paid", "paid");
  ASSERT_TRUE(wait_until([&] {
    return metric_sum(call(gw.port, "GET", "/metrics").body, "tidal_queue_depth", "tier=\"paid\"") == 1;
  }, 10s));
  hog.join();
  for (auto& t : clients) t.join();
  ASSERT_EQ(finished.size(), 4u);
  EXPECT_EQ(finished.front(), "paid") << "the paid request arrived last but goes first";
  // An unknown tier name is a client error naming the header.
  auto bad = call(gw.port, "POST", "/v1/chat/completions", chat_body("x", 2), {{"x-tidal-priority", "gold"}});
  EXPECT_EQ(bad.status, 400u);
  EXPECT_NE(bad.body.find("x-tidal-priority"), std::string::npos);
}

TEST(TrafficE2E, TierDeadlineShedsWithinItsWait) {
  Engine e = start_engine();
  const std::string cfg = write_temp("deadline.yaml", R"(
admission:
  default_tier: free
  tiers:
    - {name: paid, max_queue_wait_s: 30}
    - {name: free, max_queue_wait_s: 0.5}
)");
  Gateway gw = start_gateway({e.port}, 1, {"-c", cfg, "--max-in-flight", "1"});
  std::jthread hog = hold_slot(gw, 1500);
  const auto t0 = std::chrono::steady_clock::now();
  auto shed = call(gw.port, "POST", "/v1/chat/completions", chat_body("late", 2));
  const double waited_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_EQ(shed.status, 503u);
  EXPECT_EQ(shed.raw.header("x-tidal-drop-reason"), "deadline");
  EXPECT_EQ(error_code(shed), "queue_timeout");
  EXPECT_GE(waited_s, 0.45);
  EXPECT_LT(waited_s, 2.0) << "shed at its tier's deadline, not the hog's end";
  hog.join();
  const auto m = call(gw.port, "GET", "/metrics").body;
  EXPECT_EQ(metric_sum(m, "tidal_queue_rejected_total", "reason=\"deadline\",tier=\"free\""), 1);
  EXPECT_EQ(metric_sum(m, "tidal_queue_rejected_total", "tier=\"paid\""), 0);
}

TEST(TrafficE2E, SigtermUnderStreamingLoadLosesNothing) {
  Engine a = start_engine(), b = start_engine();
  Gateway gw = start_gateway({a.port, b.port}, 2);
  constexpr int kStreams = 8;
  std::vector<Reply> replies(kStreams);
  std::vector<std::thread> clients;
  for (int i = 0; i < kStreams; ++i) {
    clients.emplace_back([&, i] { replies[i] = call(gw.port, "POST", "/v1/chat/completions", chat_body("s", 400, true)); });
  }
  ASSERT_TRUE(wait_until([&] { return metric_sum(call(gw.port, "GET", "/metrics").body, "tidal_in_flight") == kStreams; }, 10s));
  gw.proc->signal(SIGTERM);
  for (auto& t : clients) t.join();
  for (int i = 0; i < kStreams; ++i) {
    EXPECT_EQ(replies[i].status, 200u) << replies[i].error;
    EXPECT_NE(replies[i].body.find("data: [DONE]"), std::string::npos) << "stream " << i << " was cut";
  }
  EXPECT_EQ(gw.proc->wait(20s), 0) << gw.proc->log();
  EXPECT_NE(gw.proc->log().find("drained"), std::string::npos);
  EXPECT_FALSE(call(gw.port, "GET", "/livez", {}, 1000ms).ok) << "no new connections after SIGTERM";
}

TEST(TrafficE2E, UpstreamBreakingMidStreamEndsWithAnSseErrorEvent) {
  Engine e = start_engine({"--abort-after-tokens", "5"});
  Gateway gw = start_gateway({e.port}, 1);
  auto r = call(gw.port, "POST", "/v1/chat/completions", chat_body("cut", 50, true));
  ASSERT_TRUE(r.ok) << "the client gets a complete (chunked) response, not a broken connection: " << r.error;
  EXPECT_EQ(r.status, 200u);
  EXPECT_NE(r.body.find("data: {\"error\":"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("upstream_error"), std::string::npos);
  EXPECT_EQ(r.body.find("[DONE]"), std::string::npos);
  // Counted once the stream has ended, on the gateway's side of the last write (and the
  // scrape may be served by the other event loop first): awaited, not read once.
  EXPECT_TRUE(wait_until(
      [&] { return metric_sum(call(gw.port, "GET", "/metrics").body, "tidal_requests_total", "code=\"502\"") == 1; }, 5s));
}

TEST(TrafficE2E, ClientThatStopsReadingFreesItsSlot) {
  // Fast tokens so that a client that reads nothing fills the socket buffers quickly.
  Engine e = start_engine({"--time-scale", "50"});
  const std::string cfg = write_temp("stall.yaml", "gateway: {client_write_timeout_s: 1, client_send_buffer_bytes: 4096}\n");
  Gateway gw = start_gateway({e.port}, 1, {"-c", cfg, "--max-in-flight", "1", "--queue-timeout-s", "25"});
  http::asio::io_context ctx;
  http::tcp::socket stalled(ctx);
  stalled.open(http::tcp::v4());
  stalled.set_option(http::asio::socket_base::receive_buffer_size(2048));
  stalled.connect(http::tcp::endpoint(http::asio::ip::make_address("127.0.0.1"), gw.port));
  const std::string body = chat_body("never read", 4000, true);
  const std::string req = "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                          "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  http::asio::write(stalled, http::asio::buffer(req));
  ASSERT_TRUE(wait_until([&] { return metric_sum(call(gw.port, "GET", "/metrics").body, "tidal_in_flight") == 1; }, 10s));
  // The stalled stream holds the only slot until the write deadline drops it.
  auto next = call(gw.port, "POST", "/v1/chat/completions", chat_body("next", 4));
  EXPECT_EQ(next.status, 200u) << next.body;
  EXPECT_TRUE(wait_until([&] { return metric_sum(call(gw.port, "GET", "/metrics").body, "tidal_in_flight") == 0; }, 5s));
}


// A real redis-server on loopback (no persistence), restartable on the same port.
struct RedisServer {
  uint16_t port = free_port();  // must be known before it binds, to restart on the same address
  std::unique_ptr<Process> proc;
  void start() {
    proc = std::make_unique<Process>(std::vector<std::string>{"--port", std::to_string(port), "--bind", "127.0.0.1",
                                                              "--save", "", "--appendonly", "no"},
                                     std::vector<std::string>{}, "/usr/bin/redis-server");
    ASSERT_TRUE(wait_until([&] { return proc->log().find("Ready to accept connections") != std::string::npos; }, 10s))
        << proc->log();
  }
  void stop() {
    proc->signal(SIGKILL);
    proc->wait(5s);
    proc.reset();
  }
};

std::string redis_config(uint16_t port, const char* on_failure) {
  return std::string(R"(
rate_limits: {backend: redis, redis_url: "redis://127.0.0.1:)") + std::to_string(port) + R"(", on_failure: )" +
         on_failure + R"(}
auth:
  keys:
    - {key: sk-shared, name: shared, limits: {requests_per_min: 3}}
)";
}

TEST(TrafficE2E, RedisLimitsHoldAcrossTwoGatewaysAndSurviveARestart) {
  RedisServer redis;
  redis.start();
  Engine e = start_engine();
  const std::string open_cfg = write_temp("redis-open.yaml", redis_config(redis.port, "open"));
  const std::string closed_cfg = write_temp("redis-closed.yaml", redis_config(redis.port, "closed"));
  Gateway g1 = start_gateway({e.port}, 1, {"-c", open_cfg});
  Gateway g2 = start_gateway({e.port}, 1, {"-c", closed_cfg});
  const std::string body = chat_body("hi", 2);
  auto send = [&](const Gateway& g) { return call(g.port, "POST", "/v1/chat/completions", body, bearer("sk-shared")); };
  // Three requests per minute for the key, whichever gateway they reach.
  EXPECT_EQ(send(g1).status, 200u);
  EXPECT_EQ(send(g2).status, 200u);
  auto third = send(g1);
  EXPECT_EQ(third.status, 200u);
  EXPECT_EQ(third.raw.header("x-ratelimit-remaining-requests"), "0");
  auto over2 = send(g2);
  EXPECT_EQ(over2.status, 429u);
  EXPECT_EQ(over2.raw.header("x-tidal-drop-reason"), "rate_limited");
  EXPECT_EQ(send(g1).status, 429u);

  // Redis gone: the fail-open gateway admits, the fail-closed one refuses with 503.
  redis.stop();
  EXPECT_EQ(send(g1).status, 200u);
  auto closed = send(g2);
  EXPECT_EQ(closed.status, 503u);
  EXPECT_EQ(error_code(closed), "rate_limiter_unavailable");
  EXPECT_GT(metric_sum(call(g1.port, "GET", "/metrics").body, "tidal_ratelimit_backend_failures_total"), 0);
  EXPECT_NE(g1.proc->log().find("redis rate limiter unavailable"), std::string::npos);

  // Back (empty: a fresh bucket): both gateways enforce the shared limit again.
  redis.start();
  ASSERT_TRUE(wait_until([&] { return send(g2).status == 200; }, 10s)) << g2.proc->log();
  int ok = 1;  // the one that got through above
  for (int i = 0; i < 4; ++i) ok += send(i % 2 ? g1 : g2).status == 200 ? 1 : 0;
  EXPECT_EQ(ok, 3) << "three per minute across both gateways after the restart";
  EXPECT_NE(g2.proc->log().find("redis rate limiter connected"), std::string::npos);
}

TEST(TrafficE2E, RedisLocalCacheDecidesFarFromTheLimitAndStillHoldsIt) {
  RedisServer redis;
  redis.start();
  Engine e = start_engine();
  const std::string cfg = write_temp("redis-cache.yaml", R"(
rate_limits: {backend: redis, redis_url: "redis://127.0.0.1:)" + std::to_string(redis.port) + R"(", local_cache_ms: 1000}
auth:
  keys:
    - {key: sk-cached, name: cached, limits: {requests_per_min: 30}}
)");
  Gateway gw = start_gateway({e.port}, 1, {"-c", cfg});
  int ok = 0;
  for (int i = 0; i < 40; ++i) {
    ok += call(gw.port, "POST", "/v1/chat/completions", chat_body("c", 2), bearer("sk-cached")).status == 200 ? 1 : 0;
  }
  // Far from the limit the gateway decided alone; near it, it asked Redis: the limit held.
  EXPECT_GT(metric_sum(call(gw.port, "GET", "/metrics").body, "tidal_ratelimit_local_decisions_total"), 10);
  EXPECT_GE(ok, 30);
  EXPECT_LE(ok, 31) << "at most one request over within a round trip";
}


TEST(TrafficE2E, ReplicaAnswering500sIsEjectedAndTrafficMoves) {
  Engine good = start_engine(), bad = start_engine({"--error-rate", "1"});
  const std::string cfg = write_temp("breaker.yaml", R"(
resilience: {breaker: {consecutive_failures: 3, cooldown_s: 60}}
)");
  Gateway gw = start_gateway({good.port, bad.port}, 2, {"-c", cfg});
  int failed = 0;
  for (int i = 0; i < 40; ++i) failed += call(gw.port, "POST", "/v1/chat/completions", chat_body("x", 2)).status == 500 ? 1 : 0;
  // The bad replica answered 500 until its third failure in a row, then got nothing more.
  EXPECT_EQ(failed, 3);
  const auto m = call(gw.port, "GET", "/metrics").body;
  const std::string bad_series = "replica=\"127.0.0.1:" + std::to_string(bad.port) + "\"";
  EXPECT_EQ(metric_sum(m, "tidal_breaker_open", bad_series), 1);
  EXPECT_EQ(metric_sum(m, "tidal_breaker_trips_total", bad_series), 1);
  EXPECT_NE(gw.proc->log().find("circuit opened replica=127.0.0.1:" + std::to_string(bad.port)), std::string::npos);
}

TEST(TrafficE2E, ARefusedConnectIsRetriedElsewhereEvenWithNoRetryBudget) {
  Engine alive = start_engine(), dead = start_engine();
  // No retry budget at all, and health checks too slow to notice the death first.
  const std::string cfg = write_temp("refused.yaml", R"(
resilience: {retry_budget: {percent: 0, min_concurrency: 0}}
)");
  Gateway gw = start_gateway({alive.port, dead.port}, 2, {"-c", cfg, "--routing", "round_robin"},
                             {"TIDAL_HEALTH__INTERVAL_MS=60000"});
  dead.proc->signal(SIGKILL);
  ASSERT_TRUE(dead.proc->wait(10s).has_value());
  // Round robin sends one of the first two requests to the dead replica: its connect is
  // refused, nothing reached it, so the request moves on without a budget token.
  for (int i = 0; i < 4; ++i) {
    auto r = call(gw.port, "POST", "/v1/chat/completions", chat_body("r", 2));
    EXPECT_EQ(r.status, 200u) << r.body;
  }
  const auto m = call(gw.port, "GET", "/metrics").body;
  const std::string dead_series = "replica=\"127.0.0.1:" + std::to_string(dead.port) + "\"";
  EXPECT_EQ(metric_sum(m, "tidal_upstream_errors_total", "kind=\"connect\",pool=\"default\"," + dead_series), 1);
  EXPECT_EQ(metric_sum(m, "tidal_retries_total"), 1);
  EXPECT_EQ(metric_sum(m, "tidal_retries_denied_total"), 0);
  EXPECT_EQ(metric(m, "tidal_replica_ready{pool=\"default\"," + dead_series + "}"), 0.0) << "refused: ejected";
}

TEST(TrafficE2E, HangingReplicaTimesOutAndTheRequestIsRetriedElsewhere) {
  Engine good = start_engine(), hung = start_engine({"--hang-rate", "1"});
  const std::string cfg = write_temp("hang.yaml", R"(
gateway: {upstream_idle_timeout_s: 0.5}
resilience: {breaker: {consecutive_failures: 2, cooldown_s: 60}}
)");
  Gateway gw = start_gateway({good.port, hung.port}, 2, {"-c", cfg});
  for (int i = 0; i < 10; ++i) {
    auto r = call(gw.port, "POST", "/v1/chat/completions", chat_body("x", 2));
    EXPECT_EQ(r.status, 200u) << r.body;
  }
  const auto m = call(gw.port, "GET", "/metrics").body;
  const std::string hung_series = "replica=\"127.0.0.1:" + std::to_string(hung.port) + "\"";
  EXPECT_EQ(metric_sum(m, "tidal_upstream_errors_total", "kind=\"timeout\",pool=\"default\"," + hung_series), 2);
  EXPECT_EQ(metric_sum(m, "tidal_retries_total"), 2);
  EXPECT_EQ(metric_sum(m, "tidal_breaker_open", hung_series), 1) << "two timeouts in a row open its circuit";
}


TEST(TrafficE2E, HedgedRequestWinsOnTheFastReplicaAndCancelsTheSlowOne) {
  Engine fast = start_engine(), slow = start_engine({"--added-latency-ms", "3000"});
  const std::string cfg = write_temp("hedge.yaml", R"(
admission:
  tiers:
    - {name: critical, hedge: true, hedge_delay_ms: 200}
    - {name: standard}
  default_tier: standard
resilience: {breaker: {consecutive_failures: 0, failure_rate: 0}}
)");
  Gateway gw = start_gateway({fast.port, slow.port}, 2, {"-c", cfg, "--routing", "round_robin"});
  // Round robin (hedge picks included) sends originals to the slow replica.
  for (int i = 0; i < 6; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    auto r = call(gw.port, "POST", "/v1/chat/completions", chat_body("h", 3, i % 2 == 0),
                  {{"x-tidal-priority", "critical"}});
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    EXPECT_EQ(r.status, 200u) << r.body;
    EXPECT_LT(s, 2.0) << "request " << i << " waited for the slow replica";
  }
  const auto m = call(gw.port, "GET", "/metrics").body;
  const double hedges = metric_sum(m, "tidal_hedges_total");
  // Originals on the slow replica are hedged and the copies win; a fast original slowed
  // past 200 ms by a loaded machine may be hedged too, and then wins itself.
  EXPECT_GE(metric_sum(m, "tidal_hedges_won_total"), 1);
  EXPECT_LE(metric_sum(m, "tidal_hedges_won_total"), hedges);
  // The slow engine finished none of them: each copy there was cancelled.
  EXPECT_TRUE(wait_until([&] {
    return metric_sum(call(slow.port, "GET", "/metrics").body, "vllm:num_requests_running") == 0;
  }, 5s));
  EXPECT_EQ(metric_sum(call(slow.port, "GET", "/metrics").body, "vllm:request_success_total"), 0);
  // Standard requests are not hedged: of two in a row (round robin), one waits for the slow replica.
  double longest = 0;
  for (int i = 0; i < 2; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    EXPECT_EQ(call(gw.port, "POST", "/v1/chat/completions", chat_body("s", 2)).status, 200u);
    longest = std::max(longest, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  EXPECT_GE(longest, 2.5);
  EXPECT_EQ(metric_sum(call(gw.port, "GET", "/metrics").body, "tidal_hedges_total"), hedges);
}


TEST(TrafficE2E, SaturatedPoolOverflowsToItsOffloadPoolAtItsOwnPrice) {
  Engine local = start_engine(), hosted = start_engine();
  const std::string cfg = write_temp("offload.yaml", R"(
pools:
  - name: local
    max_in_flight_per_replica: 1
    replicas: [")" + url(local.port) + R"("]
    offload: {to: hosted, queue_wait_s: 0.3}
  - name: hosted
    replicas: [")" + url(hosted.port) + R"("]
    cost_per_1k_tokens: 0.5
    upstream_api_key: sk-hosted
)");
  Gateway gw = start_gateway({}, 2, {"-c", cfg});
  std::jthread hog = hold_slot(gw, 1500, "pool=\"local\"");
  // The first waiter queues in the local pool; once it has waited 0.3 s, new requests overflow.
  std::jthread waiter([&] { EXPECT_EQ(call(gw.port, "POST", "/v1/chat/completions", chat_body("w", 2)).status, 200u); });
  ASSERT_TRUE(wait_until([&] {
    return metric_sum(call(gw.port, "GET", "/metrics").body, "tidal_queue_oldest_wait_seconds", "pool=\"local\"") >= 0.35;
  }, 10s));
  const auto t0 = std::chrono::steady_clock::now();
  auto r = call(gw.port, "POST", "/v1/chat/completions", chat_body("overflow", 10));
  EXPECT_EQ(r.status, 200u);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 1s) << "served by the offload pool, not queued behind the hog";
  const auto m = call(gw.port, "GET", "/metrics").body;
  EXPECT_GE(metric_sum(m, "tidal_offload_requests_total", "reason=\"queue_wait\",to=\"hosted\""), 1);
  EXPECT_GT(metric_sum(m, "tidal_cost_usd_total", "pool=\"hosted\""), 0);
  EXPECT_EQ(metric_sum(m, "tidal_cost_usd_total", "pool=\"local\""), 0);
  EXPECT_GE(metric_sum(call(hosted.port, "GET", "/metrics").body, "vllm:request_success_total"), 1);
}


TEST(TrafficE2E, ReplicaNeverReadyIsEjectedAndTheDeadPoolAnswersAtOnce) {
  // Nothing listens on this port: the replica never passes a health check.
  const uint16_t dead = free_port();
  Gateway gw = start_gateway({dead}, 0, {"--queue-timeout-s", "30"},
                             {"TIDAL_HEALTH__READY_TIMEOUT_S=0.5"});
  ASSERT_TRUE(wait_until([&] { return gw.proc->log().find("not ready within health.ready_timeout_s") != std::string::npos; }, 10s))
      << gw.proc->log();
  const auto t0 = std::chrono::steady_clock::now();
  auto r = call(gw.port, "POST", "/v1/chat/completions", chat_body("x", 2));
  EXPECT_EQ(r.status, 503u);
  EXPECT_EQ(r.raw.header("x-tidal-drop-reason"), "no_replica");
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 2s) << "not after the 30 s queue wait";
  EXPECT_EQ(call(gw.port, "GET", "/readyz").status, 503u);
  EXPECT_EQ(call(gw.port, "GET", "/livez").status, 200u);
}

}  // namespace
}  // namespace tidal::e2e
