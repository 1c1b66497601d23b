#include <gtest/gtest.h>

#include <string>

#include "gateway/usage_meter.h"

namespace tidal::gateway {
namespace {

// A vLLM-style stream of `n` tokens, optionally ending with the usage-only chunk.
std::string stream(int n, bool usage) {
  std::string s;
  for (int i = 0; i < n; ++i) s += "data: {\"id\":\"x\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"t\"}}]}\n\n";
  if (usage) s += "data: {\"id\":\"x\",\"choices\":[],\"usage\":{\"prompt_tokens\":17,\"completion_tokens\":" + std::to_string(n) + ",\"total_tokens\":" + std::to_string(17 + n) + "}}\n\n";
  return s + "data: [DONE]\n\n";
}

TEST(UsageMeterTest, CountsTokenEventsWhereverTheChunksAreCut) {
  for (bool usage : {false, true}) {
    const std::string s = stream(37, usage);
    for (size_t cut = 1; cut < s.size(); cut += 7) {  // every chunk size, incl. cuts inside "data:" and numbers
      UsageMeter m;
      for (size_t at = 0; at < s.size(); at += cut) m.feed(std::string_view(s).substr(at, cut));
      EXPECT_EQ(m.output_tokens(), 37u) << "usage " << usage << " chunk " << cut;
      if (usage) {
        EXPECT_EQ(m.prompt_tokens(), 17u) << "chunk " << cut;
      }
    }
  }
}

TEST(UsageMeterTest, TheUsageObjectWinsOverCountedEvents) {
  UsageMeter m;  // an engine that sends several tokens per event, with usage at the end
  m.feed("data: {\"choices\":[{\"delta\":{\"content\":\"ab\"}}]}\n\ndata: {\"choices\":[],\"usage\":{\"prompt_tokens\": 5,"
         " \"completion_tokens\": 4}}\n\ndata: [DONE]\n\n");
  EXPECT_EQ(m.output_tokens(), 4u);
  EXPECT_EQ(m.prompt_tokens(), 5u);
}

TEST(UsageMeterTest, ReadsANonStreamedBody) {
  UsageMeter m;
  m.feed(R"({"id":"c","object":"chat.completion","choices":[{"message":{"content":"hi"}}],"usage":{"prompt_tokens":9,"completion_tokens":12,"total_tokens":21}})");
  EXPECT_EQ(m.output_tokens(), 12u);
  EXPECT_EQ(m.prompt_tokens(), 9u);
  UsageMeter none;
  none.feed(R"({"error":{"message":"bad"}})");
  EXPECT_EQ(none.output_tokens(), 0u);
  EXPECT_FALSE(none.prompt_tokens());
}

}  // namespace
}  // namespace tidal::gateway
