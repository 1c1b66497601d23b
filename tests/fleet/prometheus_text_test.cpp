#include "fleet/prometheus_text.h"

#include <gtest/gtest.h>

#include <cmath>

#include "common/rng.h"
#include "fleet/engine_scraper.h"

namespace tidal::fleet {
namespace {

TEST(PrometheusTextTest, ParsesSamplesLabelsEscapesAndSpecialValues) {
  const auto s = parse_prometheus_text(
      "# HELP vllm:num_requests_waiting Number of requests waiting.\n"
      "# TYPE vllm:num_requests_waiting gauge\n"
      "vllm:num_requests_waiting{model_name=\"llama\",engine=\"0\"} 3\n"
      "vllm:kv_cache_usage_perc{model_name=\"a \\\"quoted\\\" name\"} 0.25 1700000000000\r\n"
      "up 1\n"
      "x_total NaN\n"
      "y +Inf\n");
  ASSERT_EQ(s.size(), 5u);
  EXPECT_EQ(s[0].name, "vllm:num_requests_waiting");
  ASSERT_EQ(s[0].labels.size(), 2u);
  EXPECT_EQ(s[0].labels[1], (std::pair<std::string, std::string>{"engine", "0"}));
  EXPECT_EQ(s[0].value, 3);
  EXPECT_EQ(s[1].labels[0].second, "a \"quoted\" name");
  EXPECT_EQ(s[1].value, 0.25);
  EXPECT_TRUE(std::isnan(s[3].value));
  EXPECT_TRUE(std::isinf(s[4].value));
}

TEST(PrometheusTextTest, SkipsMalformedLinesAndKeepsTheRest) {
  const auto s = parse_prometheus_text("good 1\n{no_name} 2\nbad{a=\"1\" 3\nbad2{a=1} 4\nnovalue\n9starts_with_digit 5\n"
                                       "ok{} 6\nunterminated{a=\"x\n");
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(s[0].name, "good");
  EXPECT_EQ(s[1].name, "ok");
  EXPECT_EQ(s[1].value, 6);
}

// Fuzz-style: random bytes and random mutations of a real exposition never crash and
// never produce more samples than lines.
TEST(PrometheusTextTest, RandomAndMutatedInputNeverCrashes) {
  const std::string seed =
      "vllm:num_requests_running{model_name=\"m\"} 4\nvllm:num_requests_waiting{model_name=\"m\"} 2\n"
      "vllm:kv_cache_usage_perc{model_name=\"m\"} 0.5\nllamacpp:requests_deferred 1\n";
  Rng rng(1);
  for (int i = 0; i < 20000; ++i) {
    std::string text = seed;
    if (i % 2 == 0) {
      text.resize(rng.below(200));
      for (auto& c : text) c = static_cast<char>(rng.below(256));
    } else {
      for (int m = 0; m < 1 + static_cast<int>(rng.below(8)); ++m) {
        const size_t at = rng.below(text.size());
        switch (rng.below(3)) {
          case 0: text[at] = static_cast<char>(rng.below(256)); break;
          case 1: text.erase(at, 1 + rng.below(5)); break;
          default: text.insert(at, 1, "{}\"=,\\ \n#"[rng.below(10)]); break;
        }
        if (text.empty()) break;
      }
    }
    const auto samples = parse_prometheus_text(text);
    const auto lines = static_cast<size_t>(std::count(text.begin(), text.end(), '\n')) + 1;
    ASSERT_LE(samples.size(), lines);
    (void)read_engine_load(samples);
  }
}

TEST(EngineLoadTest, ReadsVllmAndLlamaCppDialects) {
  auto v = read_engine_load(parse_prometheus_text(
      "vllm:num_requests_running{model_name=\"a\"} 3\nvllm:num_requests_running{model_name=\"b\"} 2\n"
      "vllm:num_requests_waiting{model_name=\"a\"} 7\nvllm:gpu_cache_usage_perc{model_name=\"a\"} 0.4\n"));
  EXPECT_EQ(v.running, 5);
  EXPECT_EQ(v.waiting, 7);
  EXPECT_EQ(v.kv_usage, 0.4);
  auto l = read_engine_load(parse_prometheus_text("llamacpp:requests_processing 2\nllamacpp:requests_deferred 1\n"));
  EXPECT_EQ(l.running, 2);
  EXPECT_EQ(l.waiting, 1);
  EXPECT_FALSE(l.kv_usage);
  EXPECT_FALSE(read_engine_load(parse_prometheus_text("process_cpu_seconds_total 3\n")).waiting);
}

TEST(EngineLoadTest, ReadsTheKvCacheSizeFromVllmsCacheConfigInfo) {
  auto v = read_engine_load(parse_prometheus_text(
      "vllm:cache_config_info{block_size=\"16\",enable_prefix_caching=\"True\",num_gpu_blocks=\"26875\"} 1.0\n"));
  EXPECT_EQ(v.kv_capacity_tokens, 430'000u);
  EXPECT_FALSE(read_engine_load(parse_prometheus_text("vllm:cache_config_info{block_size=\"16\"} 1.0\n")).kv_capacity_tokens);
}

}  // namespace
}  // namespace tidal::fleet

namespace tidal::fleet {
namespace {

TEST(SlotsTest, CountsBusySlotsInBothLlamaCppFormats) {
  auto now = read_slots(R"([{"id":0,"id_task":3,"n_ctx":4096,"is_processing":true},
                            {"id":1,"id_task":-1,"n_ctx":4096,"is_processing":false},
                            {"id":2,"id_task":9,"n_ctx":4096,"is_processing":true}])");
  ASSERT_TRUE(now);
  EXPECT_EQ(now->busy, 2u);
  EXPECT_EQ(now->total, 3u);
  auto older = read_slots(R"([{"id":0,"state":1},{"id":1,"state":0}])");  // llama-server before is_processing
  ASSERT_TRUE(older);
  EXPECT_EQ(older->busy, 1u);
  EXPECT_EQ(older->total, 2u);
  EXPECT_FALSE(read_slots(R"({"error":{"code":501,"message":"This server does not support slots endpoint."}})"));
  EXPECT_FALSE(read_slots(R"([{"id":0}])"));
  EXPECT_FALSE(read_slots("garbage"));
}

TEST(ModelFilterTest, ListedModelsAndAdaptersPassOthersAreKnownNotServed) {
  auto f = read_model_filter(R"({"object":"list","data":[
      {"id":"meta-llama/Llama-3-8B","object":"model","owned_by":"vllm","root":"meta-llama/Llama-3-8B"},
      {"id":"sql-lora","object":"model","owned_by":"vllm","root":"/adapters/sql","parent":"meta-llama/Llama-3-8B"}]})");
  ASSERT_TRUE(f);
  EXPECT_TRUE(may_serve(*f, model_bits("meta-llama/Llama-3-8B")));
  EXPECT_TRUE(may_serve(*f, model_bits("sql-lora")));
  int false_positives = 0;
  for (int i = 0; i < 1000; ++i) false_positives += may_serve(*f, model_bits("other-" + std::to_string(i))) ? 1 : 0;
  EXPECT_LT(false_positives, 10);  // two bits per model of 64: ~0.4 % with two models
  EXPECT_TRUE(may_serve(0, model_bits("anything")));  // not known yet
  // llama-server answers any model name: no filter.
  EXPECT_FALSE(read_model_filter(R"({"object":"list","data":[{"id":"m.gguf","object":"model","owned_by":"llamacpp"}]})"));
  EXPECT_FALSE(read_model_filter(R"({"object":"list","data":[]})"));
  EXPECT_FALSE(read_model_filter("<html>"));
}

}  // namespace
}  // namespace tidal::fleet
