#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "common/tokens.h"
#include "support/paths.h"
#include "workload/arrivals.h"
#include "workload/synthetic_text.h"
#include "workload/trace_reader.h"

namespace tidal::workload {
namespace {

const std::string kData = testing_paths::data_dir();

TEST(AzureTimestampTest, ParsesBothTraceGenerations) {
  auto a = parse_azure_timestamp("2023-11-16 18:17:03.9800000");
  auto b = parse_azure_timestamp("2023-11-16 18:17:04.0000000");
  ASSERT_TRUE(a && b);
  EXPECT_NEAR(*b - *a, 0.02, 1e-6);
  auto z = parse_azure_timestamp("2024-05-10 00:00:00.009930+00:00");
  auto whole = parse_azure_timestamp("2024-05-12 00:00:00+00:00");
  ASSERT_TRUE(z && whole);
  EXPECT_NEAR(*whole - *z, 2 * 86400 - 0.00993, 1e-6);
  EXPECT_NEAR(*parse_azure_timestamp("1970-01-02 00:00:00"), 86400, 1e-9);
  EXPECT_FALSE(parse_azure_timestamp("yesterday"));
}

TEST(AzureCsvTest, ReadsTheSampleRelativeToTheFirstRow) {
  std::ifstream in(kData + "/azure_code_sample.csv");
  auto t = read_azure_csv(in, "sample");
  ASSERT_TRUE(t) << t.error().message;
  ASSERT_EQ(t->size(), 20u);
  EXPECT_EQ((*t)[0].arrival_s, 0.0);
  for (size_t i = 1; i < t->size(); ++i) EXPECT_GE((*t)[i].arrival_s, (*t)[i - 1].arrival_s);
  EXPECT_GT((*t)[0].input_tokens, 0u);
}

TEST(AzureCsvTest, AcceptsAMissingFinalNewlineAndNamesBadLines) {
  std::istringstream ok("TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:17:03.9800000,100,5\n"
                        "2023-11-16 18:17:05.9800000,200,7");
  auto t = read_azure_csv(ok, "x.csv");
  ASSERT_TRUE(t);
  ASSERT_EQ(t->size(), 2u);
  EXPECT_NEAR((*t)[1].arrival_s, 2.0, 1e-6);
  EXPECT_EQ((*t)[1].output_tokens, 7u);
  std::istringstream bad("TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:17:03.98,abc,5\n");
  auto e = read_azure_csv(bad, "x.csv");
  ASSERT_FALSE(e);
  EXPECT_NE(e.error().message.find("x.csv:2"), std::string::npos);
}

TEST(MooncakeTest, ReadsTimestampsLengthsAndHashIds) {
  std::ifstream in(kData + "/mooncake_sample.jsonl");
  auto t = read_mooncake_jsonl(in, "sample");
  ASSERT_TRUE(t) << t.error().message;
  ASSERT_EQ(t->size(), 20u);
  for (const auto& r : *t) {
    EXPECT_EQ(r.hash_ids.size(), (r.input_tokens + kMooncakeBlockTokens - 1) / kMooncakeBlockTokens);
  }
  std::istringstream bad("{\"timestamp\": 1, \"input_length\": 3}\n");
  EXPECT_FALSE(read_mooncake_jsonl(bad, "m"));
}

TEST(SyntheticTextTest, HasExactlyTheRequestedTokenEstimate) {
  for (uint32_t n : {1u, 17u, 1000u}) EXPECT_EQ(estimate_tokens(synthetic_text(3, n)), n);
  EXPECT_EQ(synthetic_text(3, 50), synthetic_text(3, 50));
  EXPECT_NE(synthetic_text(3, 50), synthetic_text(4, 50));
}

TEST(SyntheticTextTest, SharedLeadingHashIdsShareARealTextPrefix) {
  const std::vector<uint64_t> a = {1, 2, 3}, b = {1, 2, 9};
  const auto pa = prompt_from_hash_ids(a, 1500, 1);
  const auto pb = prompt_from_hash_ids(b, 1500, 2);
  EXPECT_EQ(estimate_tokens(pa), 1500u);
  EXPECT_EQ(pa.substr(0, 2 * 512 * 4), pb.substr(0, 2 * 512 * 4));
  EXPECT_NE(pa.substr(2 * 512 * 4), pb.substr(2 * 512 * 4));
  // So the engine's prefix cache sees the shared blocks.
  const auto ha = prefix_block_hashes(pa), hb = prefix_block_hashes(pb);
  EXPECT_EQ(ha[63], hb[63]);
  EXPECT_NE(ha[64], hb[64]);
}

TEST(ArrivalsTest, MeanGapMatchesTheRateAndGammaIsBurstier) {
  Rng rng(5);
  auto mean_cv = [&](ArrivalProcess p) {
    double s = 0, s2 = 0;
    const int n = 40000;
    for (int i = 0; i < n; ++i) {
      const double g = p.next_gap_s(rng);
      s += g;
      s2 += g * g;
    }
    const double m = s / n;
    return std::pair{m, std::sqrt(s2 / n - m * m) / m};
  };
  auto [pm, pcv] = mean_cv(ArrivalProcess(ArrivalKind::kPoisson, 10));
  EXPECT_NEAR(pm, 0.1, 0.005);
  EXPECT_NEAR(pcv, 1.0, 0.05);
  auto [gm, gcv] = mean_cv(ArrivalProcess(ArrivalKind::kGamma, 10, 3.0));
  EXPECT_NEAR(gm, 0.1, 0.01);
  EXPECT_NEAR(gcv, 3.0, 0.3);
  EXPECT_DOUBLE_EQ(ArrivalProcess(ArrivalKind::kConstant, 4).next_gap_s(rng), 0.25);
  EXPECT_FALSE(parse_arrival_kind("bursty"));
}

}  // namespace
}  // namespace tidal::workload
