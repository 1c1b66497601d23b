// End to end against `tidal engine` alone: dialects, prefix cache, faults, CLI errors.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "e2e/support.h"
#include "http/sse.h"

namespace tidal::e2e {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

TEST(EngineE2E, VllmMetricsAndNonStreamingShape) {
  Engine e = start_engine();
  auto r = call(e.port, "POST", "/v1/completions", R"({"prompt":"abcdefgh","max_tokens":4})");
  ASSERT_EQ(r.status, 200u) << r.body;
  auto o = json::parse(r.body).as_object();
  EXPECT_EQ(o.at("object").as_string(), "text_completion");
  EXPECT_EQ(o.at("usage").at("completion_tokens").to_number<int>(), 4);
  EXPECT_EQ(o.at("usage").at("prompt_tokens").to_number<int>(), 2);
  EXPECT_EQ(o.at("choices").as_array()[0].at("finish_reason").as_string(), "length");
  const auto m = call(e.port, "GET", "/metrics").body;
  for (const char* name : {"vllm:num_requests_running", "vllm:num_requests_waiting", "vllm:kv_cache_usage_perc",
                           "vllm:prefix_cache_queries_total", "vllm:prefix_cache_hits_total",
                           "vllm:time_to_first_token_seconds_count", "vllm:e2e_request_latency_seconds_count"}) {
    EXPECT_NE(m.find(name), std::string::npos) << name;
  }
  EXPECT_EQ(metric_sum(m, "vllm:generation_tokens_total"), 4);
}

TEST(EngineE2E, RepeatedPrefixIsReportedAsCachedTokens) {
  Engine e = start_engine();
  const std::string text(4000, 'p');  // 1,000 tokens
  auto first = json::parse(call(e.port, "POST", "/v1/chat/completions", chat_body(text, 2)).body);
  auto second = json::parse(call(e.port, "POST", "/v1/chat/completions", chat_body(text, 2)).body);
  EXPECT_EQ(first.at("usage").at("prompt_tokens_details").at("cached_tokens").to_number<int>(), 0);
  EXPECT_GE(second.at("usage").at("prompt_tokens_details").at("cached_tokens").to_number<int>(), 976);
  EXPECT_GT(metric_sum(call(e.port, "GET", "/metrics").body, "vllm:prefix_cache_hits_total"), 0);
}

TEST(EngineE2E, LlamaCppDialect) {
  Engine e = start_engine({"--flavor", "llamacpp", "--max-num-seqs", "3"});
  EXPECT_EQ(call(e.port, "GET", "/health").body, "{\"status\":\"ok\"}");
  auto slots = json::parse(call(e.port, "GET", "/slots").body).as_array();
  EXPECT_EQ(slots.size(), 3u);
  EXPECT_FALSE(slots[0].at("is_processing").as_bool());
  ASSERT_EQ(call(e.port, "POST", "/v1/chat/completions", chat_body("x", 3)).status, 200u);
  const auto m = call(e.port, "GET", "/metrics").body;
  EXPECT_EQ(metric_sum(m, "llamacpp:tokens_predicted_total"), 3);
  EXPECT_NE(m.find("llamacpp:requests_deferred"), std::string::npos);
  EXPECT_EQ(m.find("vllm:"), std::string::npos);
}

TEST(EngineE2E, ContextLimitAndUnknownModelAreRefused) {
  Engine e = start_engine();
  auto big = call(e.port, "POST", "/v1/chat/completions", chat_body("x", 5000));  // cpu-tiny: 4,096 tokens
  EXPECT_EQ(big.status, 400u);
  EXPECT_EQ(json::parse(big.body).at("error").at("code").as_string(), "context_length_exceeded");
  auto model = call(e.port, "POST", "/v1/chat/completions", R"({"model":"gpt-9","messages":[{"role":"user","content":"x"}]})");
  EXPECT_EQ(model.status, 404u);
}

TEST(EngineE2E, InjectedErrorsAndAbortedStreams) {
  Engine failing = start_engine({"--error-rate", "1"});
  auto r = call(failing.port, "POST", "/v1/chat/completions", chat_body("x", 3));
  EXPECT_EQ(r.status, 500u);
  EXPECT_EQ(json::parse(r.body).at("error").at("code").as_string(), "injected_error");

  Engine aborting = start_engine({"--abort-after-tokens", "3"});
  auto s = call(aborting.port, "POST", "/v1/chat/completions", chat_body("x", 50, true));
  EXPECT_FALSE(s.ok) << "a stream cut after 3 tokens must not look complete";
}

TEST(EngineE2E, ExitAfterNRequestsFault) {
  Engine e = start_engine({"--exit-after", "2"});
  EXPECT_EQ(call(e.port, "POST", "/v1/chat/completions", chat_body("x", 1)).status, 200u);
  EXPECT_EQ(call(e.port, "POST", "/v1/chat/completions", chat_body("x", 1)).status, 200u);
  EXPECT_FALSE(call(e.port, "POST", "/v1/chat/completions", chat_body("x", 1)).ok);
  EXPECT_EQ(e.proc->wait(5s), 3);
}

TEST(CliE2E, BadFlagsExitTwoWithOneLine) {
  for (std::vector<std::string> args : {std::vector<std::string>{"engine", "--preset", "nope"},
                                        std::vector<std::string>{"engine", "--time-scale", "-1"},
                                        std::vector<std::string>{"bench", "--duration", "1", "--slo", "ttft=fast"},
                                        std::vector<std::string>{"gateway", "--bogus"},
                                        std::vector<std::string>{"gateway"}}) {
    Process p(args);
    EXPECT_EQ(p.wait(10s), 2) << args[0] << " " << args[1];
    const auto log = p.log();
    EXPECT_EQ(std::count(log.begin(), log.end(), '\n'), 1) << log;
  }
  Process help({"--help"});
  EXPECT_EQ(help.wait(10s), 0);
  EXPECT_NE(help.log().find("engine"), std::string::npos);
}

}  // namespace
}  // namespace tidal::e2e
