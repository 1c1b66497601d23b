// End to end: the gateway's routing choice reaches the intended replica — real
// engines, a real gateway, answers checked on the engines and the gateway's metrics.
#include <gtest/gtest.h>
#include <signal.h>

#include <boost/json.hpp>

#include "e2e/support.h"

namespace tidal::e2e {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

double served(uint16_t engine_port) {
  return metric_sum(call(engine_port, "GET", "/metrics").body, "vllm:request_success_total");
}

std::string replica_series(uint16_t engine_port, const std::string& name) {
  return name + "{pool=\"default\",replica=\"127.0.0.1:" + std::to_string(engine_port) + "\"";
}

TEST(RoutingE2E, WeightedFollowsWeightsAndBackupServesOnlyWhenPrimariesAreDown) {
  Engine a = start_engine(), b = start_engine(), c = start_engine();
  const std::string cfg = write_temp("weighted.yaml", R"(routing:
  policy: weighted
pools:
  - name: default
    replicas:
      - ")" + url(a.port) + R"( weight=3"
      - ")" + url(b.port) + R"("
      - ")" + url(c.port) + R"( backup"
)");
  Gateway gw = start_gateway({}, 3, {"--config", cfg});
  for (int i = 0; i < 40; ++i) ASSERT_EQ(call(gw.port, "POST", "/v1/chat/completions", chat_body("hi", 4)).status, 200u);
  EXPECT_EQ(served(a.port), 30);
  EXPECT_EQ(served(b.port), 10);
  EXPECT_EQ(served(c.port), 0);
  const auto m = call(gw.port, "GET", "/metrics").body;
  EXPECT_EQ(metric_sum(m, "tidal_replica_requests_total",
                       "code=\"200\",pool=\"default\",replica=\"127.0.0.1:" + std::to_string(a.port) + "\""), 30);

  // Both primaries die: once health checks eject them, the backup takes the traffic.
  a.proc->signal(SIGKILL);
  b.proc->signal(SIGKILL);
  ASSERT_TRUE(wait_until([&] {
    return call(gw.port, "GET", "/healthz").body.find("\"ready_replicas\":1") != std::string::npos;
  }, 10s));
  for (int i = 0; i < 5; ++i) EXPECT_EQ(call(gw.port, "POST", "/v1/chat/completions", chat_body("hi", 4)).status, 200u);
  EXPECT_EQ(served(c.port), 5);
}

// A multi-turn conversation: each turn resends the growing history.
std::string conversation_body(int turns) {
  json::array messages;
  messages.push_back(json::object{{"role", "system"}, {"content", std::string(2000, 's')}});
  for (int t = 0; t < turns; ++t) {
    messages.push_back(json::object{{"role", "user"}, {"content", "question " + std::to_string(t) + std::string(600, 'q')}});
    messages.push_back(json::object{{"role", "assistant"}, {"content", "answer " + std::to_string(t) + std::string(600, 'a')}});
  }
  messages.push_back(json::object{{"role", "user"}, {"content", "next" + std::string(400, 'n')}});
  return json::serialize(json::object{{"messages", std::move(messages)}, {"max_tokens", 4}});
}

TEST(RoutingE2E, PrefixAffinityKeepsAConversationWhereItsHistoryIsCached) {
  Engine a = start_engine(), b = start_engine(), c = start_engine();
  Gateway gw = start_gateway({a.port, b.port, c.port}, 3, {"--routing", "prefix_affinity"});
  // Other users' traffic keeps every replica busy now and then.
  uint64_t cached = 0, prompt = 0;
  for (int turn = 0; turn < 6; ++turn) {
    auto r = call(gw.port, "POST", "/v1/chat/completions", conversation_body(turn));
    ASSERT_EQ(r.status, 200u) << r.body;
    const auto usage = json::parse(r.body).at("usage").as_object();
    if (turn > 0) {
      cached += usage.at("prompt_tokens_details").at("cached_tokens").to_number<uint64_t>();
      prompt += usage.at("prompt_tokens").to_number<uint64_t>();
    }
    auto other = call(gw.port, "POST", "/v1/chat/completions", chat_body("another user " + std::to_string(turn), 4));
    ASSERT_EQ(other.status, 200u);
  }
  // All six turns on one replica (plus the other users spread around)...
  const double counts[] = {served(a.port), served(b.port), served(c.port)};
  EXPECT_GE(*std::max_element(std::begin(counts), std::end(counts)), 6);
  // ...so every later turn found its history in the engine's cache: all but the newest
  // question, answer and message (~400 of 900-2,400 tokens a turn; 73 % at best).
  EXPECT_GT(static_cast<double>(cached) / static_cast<double>(prompt), 0.7) << cached << " of " << prompt;
  // The gateway's prediction and the engines' reports agree.
  const auto m = call(gw.port, "GET", "/metrics").body;
  double predicted = 0, observed = 0;
  for (uint16_t p : {a.port, b.port, c.port}) {
    predicted = std::max(predicted, metric(m, replica_series(p, "tidal_prefix_predicted_hit_ratio") + "}").value_or(0));
    observed = std::max(observed, metric(m, replica_series(p, "tidal_prefix_observed_hit_ratio") + "}").value_or(0));
  }
  EXPECT_GT(observed, 0.5);
  EXPECT_NEAR(predicted, observed, 0.05);
}

TEST(RoutingE2E, UnknownRoutingPolicyIsRefusedWithTheKeyNamed) {
  Process gw({"gateway", "--port", "0", "--replica", "http://127.0.0.1:9", "--routing", "fastest"});
  EXPECT_EQ(gw.wait(10s), 2);
  EXPECT_NE(gw.log().find("routing.policy"), std::string::npos) << gw.log();
}

}  // namespace
}  // namespace tidal::e2e

namespace tidal::e2e {
namespace {

std::string model_body(const std::string& model) {
  return R"({"model":")" + model + R"(","messages":[{"role":"user","content":"hi"}],"max_tokens":4})";
}

TEST(RoutingE2E, RequestsGoOnlyToReplicasServingTheirModelOrAdapter) {
  Engine with_lora = start_engine({"--served-model-name", "base", "--lora-modules", "sql-lora=/adapters/sql"});
  Engine plain = start_engine({"--served-model-name", "base"});
  Gateway gw = start_gateway({with_lora.port, plain.port}, 2, {}, {"TIDAL_SCRAPE__INTERVAL_MS=100"});
  // Once the scrapers have read both model lists, the gateway itself refuses a model
  // no replica serves (an engine's own 404 would not name the pool).
  ASSERT_TRUE(wait_until([&] {
    auto r = call(gw.port, "POST", "/v1/chat/completions", model_body("nope"));
    return r.status == 404 && r.body.find("served by no replica") != std::string::npos;
  }, 10s));
  EXPECT_NE(call(gw.port, "POST", "/v1/chat/completions", model_body("nope")).body.find("model_not_found"),
            std::string::npos);
  for (int i = 0; i < 10; ++i) {
    ASSERT_EQ(call(gw.port, "POST", "/v1/chat/completions", model_body("sql-lora")).status, 200u);
  }
  EXPECT_EQ(served(with_lora.port), 10);  // the adapter only where it is loaded
  EXPECT_EQ(served(plain.port), 0);
  for (int i = 0; i < 10; ++i) {
    ASSERT_EQ(call(gw.port, "POST", "/v1/chat/completions", model_body("base")).status, 200u);
  }
  EXPECT_GT(served(plain.port), 0);  // the base model on both
}

}  // namespace
}  // namespace tidal::e2e
