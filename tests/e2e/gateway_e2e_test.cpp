// End to end: real `tidal engine`, `tidal gateway` and `tidal bench` processes on
// loopback; assertions on what clients see.
#include <gtest/gtest.h>
#include <signal.h>

#include <boost/json.hpp>
#include <fstream>
#include <sstream>

#include "e2e/support.h"
#include "http/sse.h"

namespace tidal::e2e {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

int64_t num(const json::object& o, const char* key) { return o.at(key).to_number<int64_t>(); }

TEST(GatewayE2E, BenchThroughTheGatewaySpreadsLoadWithWellFormedStreams) {
  Engine e1 = start_engine(), e2 = start_engine(), e3 = start_engine();
  Gateway gw = start_gateway({e1.port, e2.port, e3.port}, 3);
  const std::string out = "/tmp/tidal-e2e-bench-" + std::to_string(::getpid()) + ".json";
  Process bench({"bench", "--url", url(gw.port), "--stream", "--concurrency", "12", "--requests", "240",
                 "--output-tokens", "24", "--input-tokens", "64", "--json", out, "--no-progress"});
  ASSERT_EQ(bench.wait(120s), 0) << bench.log();
  auto r = read_json(out);
  std::remove(out.c_str());
  EXPECT_EQ(num(r, "requests"), 240);
  EXPECT_EQ(num(r, "errors"), 0) << json::serialize(r);  // truncated or malformed streams count as errors
  EXPECT_GT(r.at("ttft_ms").at("p50").to_number<double>(), 0.0);
  EXPECT_GT(r.at("tpot_ms").at("p50").to_number<double>(), 0.0);

  // Every engine served a fair share.
  double total = 0;
  std::vector<double> served;
  for (auto* e : {&e1, &e2, &e3}) {
    const double n = metric_sum(call(e->port, "GET", "/metrics").body, "vllm:request_success_total");
    served.push_back(n);
    total += n;
  }
  EXPECT_EQ(total, 240);
  for (double n : served) EXPECT_GT(n, 240 * 0.2);
  const auto gm = call(gw.port, "GET", "/metrics").body;
  EXPECT_EQ(metric_sum(gm, "tidal_requests_total", "code=\"200\""), 240);
  EXPECT_GT(metric_sum(gm, "tidal_ttft_seconds_count"), 0);
}

TEST(GatewayE2E, StreamsArriveInOpenAiChunkShapeAndEndWithDone) {
  Engine e = start_engine();
  Gateway gw = start_gateway({e.port}, 1);
  auto r = call(gw.port, "POST", "/v1/chat/completions", chat_body("hello there", 5, true));
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.status, 200u);
  EXPECT_EQ(r.raw.content_type, "text/event-stream");
  std::vector<std::string> events;
  http::SseParser p([&](std::string_view d) { events.emplace_back(d); });
  p.feed(r.body);
  EXPECT_EQ(p.pending(), 0u);
  ASSERT_GE(events.size(), 3u);
  EXPECT_EQ(events.back(), "[DONE]");
  int content_chunks = 0;
  for (size_t i = 0; i + 1 < events.size(); ++i) {
    auto o = json::parse(events[i]).as_object();
    EXPECT_EQ(o.at("object").as_string(), "chat.completion.chunk");
    if (o.at("choices").as_array().empty()) {
      EXPECT_EQ(o.at("usage").at("completion_tokens").to_number<int>(), 5);
      continue;
    }
    const auto& delta = o.at("choices").as_array()[0].at("delta").as_object();
    if (delta.contains("content") && !delta.at("content").as_string().empty()) ++content_chunks;
  }
  EXPECT_EQ(content_chunks, 5);
}

TEST(GatewayE2E, KillingAnEngineMidRunLosesNoNonStreamingRequest) {
  Engine e1 = start_engine(), e2 = start_engine(), e3 = start_engine();
  Gateway gw = start_gateway({e1.port, e2.port, e3.port}, 3);
  const std::string out = "/tmp/tidal-e2e-kill-" + std::to_string(::getpid()) + ".json";
  Process bench({"bench", "--url", url(gw.port), "--concurrency", "8", "--duration", "4", "--output-tokens", "30",
                 "--input-tokens", "32", "--json", out, "--no-progress"});
  ASSERT_TRUE(wait_until([&] { return metric_sum(call(gw.port, "GET", "/metrics").body, "tidal_requests_total") >= 60; },
                         20s));
  e1.proc->signal(SIGKILL);
  ASSERT_EQ(bench.wait(60s), 0) << bench.log();
  auto r = read_json(out);
  std::remove(out.c_str());
  EXPECT_GT(num(r, "requests"), 100);
  EXPECT_EQ(num(r, "errors"), 0) << json::serialize(r);
  const auto gm = call(gw.port, "GET", "/metrics").body;
  EXPECT_EQ(metric(gm, "tidal_replica_ready{pool=\"default\",replica=\"127.0.0.1:" + std::to_string(e1.port) + "\"}"), 0.0);
  // Requests after the kill all went to the survivors.
  EXPECT_GT(metric_sum(call(e2.port, "GET", "/metrics").body, "vllm:request_success_total"), 0);
}

TEST(GatewayE2E, BadInputGetsOpenAiErrorsWithTheRightStatus) {
  Engine e = start_engine();
  Gateway gw = start_gateway({e.port}, 1, {}, {"TIDAL_GATEWAY__MAX_BODY_BYTES=2000"});
  struct Case {
    const char* method;
    const char* target;
    std::string body;
    unsigned status;
    const char* type;
  } cases[] = {
      {"POST", "/v1/chat/completions", "{nope", 400, "invalid_request_error"},
      {"POST", "/v1/chat/completions", "{\"model\":\"x\"}", 400, "invalid_request_error"},
      {"POST", "/v1/completions", "{\"max_tokens\":2}", 400, "invalid_request_error"},
      {"POST", "/v1/chat/completions", chat_body(std::string(5000, 'a'), 2), 413, "invalid_request_error"},
      {"GET", "/v1/unknown", "", 404, "not_found_error"},
  };
  for (const auto& c : cases) {
    auto r = call(gw.port, c.method, c.target, c.body);
    ASSERT_TRUE(r.ok) << c.target << " " << r.error;
    EXPECT_EQ(r.status, c.status) << c.body.substr(0, 40);
    auto err = json::parse(r.body).at("error").as_object();
    EXPECT_EQ(err.at("type").as_string(), c.type);
    EXPECT_FALSE(err.at("message").as_string().empty());
  }
  // The gateway is still serving.
  EXPECT_EQ(call(gw.port, "POST", "/v1/chat/completions", chat_body("ok", 2)).status, 200u);
}

TEST(GatewayE2E, NoReadyReplicaGets503WithRetryAfter) {
  const uint16_t dead = free_port();  // nothing listens here
  Gateway gw = start_gateway({dead}, 0, {"--queue-timeout-s", "0.3"});
  auto r = call(gw.port, "POST", "/v1/chat/completions", chat_body("x", 2));
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.status, 503u);
  EXPECT_EQ(r.raw.header("Retry-After"), "1");
  EXPECT_EQ(json::parse(r.body).at("error").at("type").as_string(), "service_unavailable_error");
}

TEST(GatewayE2E, FullReplicasQueueRequestsInTheGatewayThenShed) {
  Engine e = start_engine();
  Gateway gw = start_gateway({e.port}, 1, {"--max-in-flight", "1", "--queue-timeout-s", "0.5"});
  // A long request holds the only slot (~2,000 steps of 2 ms).
  std::thread hog([&] { call(gw.port, "POST", "/v1/chat/completions", chat_body("hog", 2000)); });
  ASSERT_TRUE(wait_until([&] {
    return metric_sum(call(gw.port, "GET", "/metrics").body, "tidal_in_flight") == 1;
  }, 10s));
  auto shed = call(gw.port, "POST", "/v1/chat/completions", chat_body("late", 2));
  EXPECT_EQ(shed.status, 503u);
  EXPECT_EQ(json::parse(shed.body).at("error").at("code").as_string(), "queue_timeout");
  EXPECT_EQ(shed.raw.header("Retry-After"), "1");
  EXPECT_EQ(shed.raw.header("x-tidal-drop-reason"), "deadline");
  // The engine never saw more than the limit.
  EXPECT_LE(metric_sum(call(e.port, "GET", "/metrics").body, "vllm:num_requests_running"), 1);
  hog.join();
  const auto gm = call(gw.port, "GET", "/metrics").body;
  EXPECT_EQ(metric_sum(gm, "tidal_queue_rejected_total", "reason=\"deadline\""), 1);
}

TEST(GatewayE2E, QueuedRequestsAreServedInTurnWithinTheLimit) {
  Engine e = start_engine();
  Gateway gw = start_gateway({e.port}, 1, {"--max-in-flight", "1", "--queue-timeout-s", "20"});
  std::vector<std::thread> clients;
  std::atomic<int> ok{0};
  for (int i = 0; i < 4; ++i) {
    clients.emplace_back([&] {
      if (call(gw.port, "POST", "/v1/chat/completions", chat_body("q", 40)).status == 200) ++ok;
    });
  }
  for (auto& t : clients) t.join();
  EXPECT_EQ(ok, 4);
  const auto gm = call(gw.port, "GET", "/metrics").body;
  EXPECT_GE(metric_sum(gm, "tidal_queue_wait_seconds_count"), 1);
  EXPECT_EQ(metric_sum(gm, "tidal_queue_depth"), 0);
}

TEST(GatewayE2E, ClientDisconnectCancelsTheUpstreamSequence) {
  Engine e = start_engine();
  Gateway gw = start_gateway({e.port}, 1);
  http::asio::io_context ctx;
  http::tcp::socket s(ctx);
  s.connect(http::tcp::endpoint(http::asio::ip::make_address("127.0.0.1"), gw.port));
  const std::string body = chat_body("long", 3000, true);
  const std::string req = "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                          "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  http::asio::write(s, http::asio::buffer(req));
  char buf[512];
  ASSERT_GT(s.read_some(http::asio::buffer(buf)), 0u);  // the stream has started
  auto running = [&] { return metric_sum(call(e.port, "GET", "/metrics").body, "vllm:num_requests_running"); };
  ASSERT_TRUE(wait_until([&] { return running() == 1; }, 5s));
  s.close();
  // 3,000 tokens take ~6 s; the sequence must go well before that.
  EXPECT_TRUE(wait_until([&] { return running() == 0; }, 2s));
  EXPECT_EQ(metric_sum(call(e.port, "GET", "/metrics").body, "vllm:request_success_total"), 0);
  // The gateway's routing bookkeeping let go of it too.
  EXPECT_TRUE(wait_until([&] {
    const auto m = call(gw.port, "GET", "/metrics").body;
    return metric_sum(m, "tidal_in_flight") == 0 && metric_sum(m, "tidal_replica_tokens_in_flight") == 0;
  }, 2s)) << call(gw.port, "GET", "/metrics").body;
}

// gateway.disconnect_watch_after_ms decides which requests get a disconnect watch:
// none of the quick ones under a long setting, every one at 0.
TEST(GatewayE2E, DisconnectWatchAfterDecidesWhichRequestsAreWatched) {
  Engine e = start_engine();
  const std::string late = write_temp(unique("watch-late") + ".yaml", "gateway: {disconnect_watch_after_ms: 60000}\n");
  const std::string at_once = write_temp(unique("watch-now") + ".yaml", "gateway: {disconnect_watch_after_ms: 0}\n");
  Gateway lazy = start_gateway({e.port}, 1, {"-c", late});
  Gateway eager = start_gateway({e.port}, 1, {"-c", at_once});
  for (const Gateway* gw : {&lazy, &eager}) {
    for (int i = 0; i < 20; ++i) {
      const auto r = call(gw->port, "POST", "/v1/chat/completions", chat_body("quick", 1));
      ASSERT_EQ(r.status, 200u) << r.body;
    }
  }
  EXPECT_EQ(metric_sum(call(lazy.port, "GET", "/metrics").body, "tidal_client_watches_total"), 0);
  EXPECT_GE(metric_sum(call(eager.port, "GET", "/metrics").body, "tidal_client_watches_total"), 20);
}

// Opens a streaming request on a raw socket and waits for its first bytes.
std::unique_ptr<http::tcp::socket> open_stream(http::asio::io_context& ctx, uint16_t port) {
  auto s = std::make_unique<http::tcp::socket>(ctx);
  s->connect(http::tcp::endpoint(http::asio::ip::make_address("127.0.0.1"), port));
  const std::string body = chat_body("long", 3000, true);
  const std::string req = "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                          "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  http::asio::write(*s, http::asio::buffer(req));
  char buf[256];
  EXPECT_GT(s->read_some(http::asio::buffer(buf)), 0u);
  return s;
}

TEST(GatewayE2E, SigtermWithStreamsInFlightExitsCleanly) {
  Engine e = start_engine();
  Gateway gw = start_gateway({e.port}, 1);
  http::asio::io_context ctx;
  auto via_gateway = open_stream(ctx, gw.port);
  auto direct = open_stream(ctx, e.port);
  gw.proc->signal(SIGTERM);
  EXPECT_EQ(gw.proc->wait(20s), 0) << gw.proc->log();
  e.proc->signal(SIGTERM);
  EXPECT_EQ(e.proc->wait(20s), 0) << e.proc->log();
}

TEST(GatewayE2E, ColdStartingReplicaIsAdmittedOnceHealthy) {
  Process engine({"engine", "--port", "0", "--preset", "cpu-tiny", "--flavor", "llamacpp",
                  "--startup-delay-s", "1.5"});
  const uint16_t port = logged_port(engine, "cold start");  // llama.cpp listens while loading
  ASSERT_TRUE(wait_until([&] { return call(port, "GET", "/health", {}, 500ms).ok; }, 10s));
  auto loading = call(port, "GET", "/health");
  EXPECT_EQ(loading.status, 503u);
  EXPECT_NE(loading.body.find("Loading model"), std::string::npos);
  Gateway gw = start_gateway({port}, 0, {"--queue-timeout-s", "20"});
  // Sent while the replica is still starting: it waits in the gateway, then succeeds.
  auto r = call(gw.port, "POST", "/v1/chat/completions", chat_body("early", 3));
  EXPECT_EQ(r.status, 200u) << r.body;
  EXPECT_EQ(call(port, "GET", "/health").body, "{\"status\":\"ok\"}");
}

TEST(GatewayE2E, EjectedReplicaIsReadmittedWhenItComesBack) {
  Engine a = start_engine(), b = start_engine();
  Gateway gw = start_gateway({a.port, b.port}, 2);
  const std::string series = "tidal_replica_ready{pool=\"default\",replica=\"127.0.0.1:" + std::to_string(a.port) + "\"}";
  a.proc->signal(SIGKILL);
  ASSERT_TRUE(wait_until([&] { return metric(call(gw.port, "GET", "/metrics").body, series) == 0.0; }, 10s));
  EXPECT_EQ(call(gw.port, "POST", "/v1/chat/completions", chat_body("while down", 2)).status, 200u);
  Process again({"engine", "--port", std::to_string(a.port), "--preset", "cpu-tiny"});
  ASSERT_TRUE(wait_until([&] { return metric(call(gw.port, "GET", "/metrics").body, series) == 1.0; }, 10s));
  // Both serve again: enough requests reach the returning replica.
  for (int i = 0; i < 20; ++i) EXPECT_EQ(call(gw.port, "POST", "/v1/chat/completions", chat_body("x", 2)).status, 200u);
  EXPECT_GT(metric_sum(call(a.port, "GET", "/metrics").body, "vllm:request_success_total"), 0);
}

TEST(GatewayE2E, ModelsAreMergedAcrossReplicas) {
  Engine a = start_engine({"--served-model-name", "alpha"}), b = start_engine({"--served-model-name", "beta"});
  Gateway gw = start_gateway({a.port, b.port}, 2);
  auto r = call(gw.port, "GET", "/v1/models");
  ASSERT_EQ(r.status, 200u);
  auto data = json::parse(r.body).at("data").as_array();
  std::set<std::string> ids;
  for (const auto& m : data) ids.insert(std::string(m.at("id").as_string()));
  EXPECT_EQ(ids, (std::set<std::string>{"alpha", "beta"}));
}

TEST(ServeE2E, StartsLocalReplicasAndStopsThemOnSigterm) {
  Process serve({"serve", "--port", "0", "--replicas", "2", "--engine-arg=--preset=cpu-tiny"},
                {"TIDAL_HEALTH__INTERVAL_MS=100"});
  const uint16_t port = gateway_port(serve);
  ASSERT_TRUE(wait_until([&] { return call(port, "GET", "/healthz", {}, 500ms).body.find("\"ready_replicas\":2") != std::string::npos; },
                         30s)) << serve.log();
  EXPECT_EQ(call(port, "POST", "/v1/chat/completions", chat_body("hi", 3)).status, 200u);
  serve.signal(SIGTERM);
  EXPECT_EQ(serve.wait(20s), 0) << serve.log();
}

}  // namespace
}  // namespace tidal::e2e
