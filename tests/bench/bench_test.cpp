#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "bench/report.h"
#include "bench/request_source.h"
#include "common/tokens.h"
#include "support/paths.h"

namespace tidal::bench {
namespace {

RequestResult ok(double ttft, double e2e, uint32_t tokens) {
  RequestResult r;
  r.ok = true;
  r.ttft_ms = ttft;
  r.e2e_ms = e2e;
  r.output_tokens = tokens;
  return r;
}

TEST(ReportTest, TpotExcludesTheFirstTokenAndGoodputCountsSloMeeters) {
  std::vector<RequestResult> rs = {ok(100, 1090, 100), ok(300, 1290, 100)};
  RequestResult bad;
  bad.error = "http_503";
  rs.push_back(bad);
  auto r = summarize(rs, 2.0, Slo{.ttft_ms = 200, .tpot_ms = 20});
  EXPECT_EQ(r.requests, 3u);
  EXPECT_EQ(r.errors, 1u);
  EXPECT_EQ(r.errors_by_kind["http_503"], 1u);
  EXPECT_DOUBLE_EQ(r.tpot_ms.mean, 10.0);  // (1090-100)/99
  EXPECT_DOUBLE_EQ(r.req_per_s, 1.0);
  EXPECT_DOUBLE_EQ(r.output_tokens_per_s, 100.0);
  EXPECT_EQ(r.slo_met, 1u);  // the second misses TTFT
  EXPECT_DOUBLE_EQ(r.goodput_req_per_s, 0.5);
  auto j = boost::json::parse(to_json(r)).as_object();
  for (const char* key : {"requests", "errors", "ttft_ms", "tpot_ms", "e2e_ms", "req_per_s", "output_tokens_per_s"}) {
    EXPECT_TRUE(j.contains(key)) << key;
  }
  EXPECT_DOUBLE_EQ(j.at("ttft_ms").at("p50").to_number<double>(), 200.0);
  EXPECT_NE(to_table(r).find("goodput"), std::string::npos);
}

TEST(RequestSourceTest, OpenLoopHonoursRateCountAndLengths) {
  SourceOptions o;
  o.rate = 100;
  o.requests = 1000;
  o.input = *Distribution::parse("64");
  o.output = *Distribution::parse("uniform:5:9");
  auto src = RequestSource::create(o);
  ASSERT_TRUE(src);
  double last = 0;
  uint64_t n = 0;
  while (auto p = src->next()) {
    EXPECT_EQ(estimate_tokens(p->prompt), 64u);
    EXPECT_GE(p->max_tokens, 5u);
    EXPECT_LE(p->max_tokens, 9u);
    last = p->at_s;
    ++n;
  }
  EXPECT_EQ(n, 1000u);
  EXPECT_NEAR(last, 10.0, 1.0);  // 1000 requests at 100/s
}

TEST(RequestSourceTest, TraceReplayScalesTime) {
  SourceOptions o;
  o.trace_path = testing_paths::data_dir() + "/mooncake_sample.jsonl";
  o.trace_time_scale = 10;
  auto src = RequestSource::create(o);
  ASSERT_TRUE(src);
  std::vector<PlannedRequest> all;
  while (auto p = src->next()) all.push_back(*p);
  ASSERT_EQ(all.size(), 20u);
  EXPECT_EQ(estimate_tokens(all[0].prompt), all[0].input_tokens);
  o.trace_time_scale = 1;
  auto slow = RequestSource::create(o);
  std::vector<PlannedRequest> all1;
  while (auto p = slow->next()) all1.push_back(*p);
  EXPECT_NEAR(all.back().at_s * 10, all1.back().at_s, 1e-9);
  o.trace_path = "/nonexistent.csv";
  EXPECT_FALSE(RequestSource::create(o));
}

}  // namespace
}  // namespace tidal::bench
