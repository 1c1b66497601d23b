#include <gtest/gtest.h>

#include <random>
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

// Random streams (content of random length with quotes, escapes and "c"/"p" after
// quotes, so marks fall at every offset of the scanner's 16-byte blocks), cut at random.
TEST(UsageMeterTest, RandomStreamsAndCutsCountExactly) {
  std::mt19937 rng(7);
  auto pick = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  const std::string alphabet = "abcp \\\"xyz:{}[],0123";
  auto content = [&] {
    std::string c;
    for (int i = pick(0, 40); i > 0; --i) {
      const char ch = alphabet[static_cast<size_t>(pick(0, static_cast<int>(alphabet.size()) - 1))];
      if (ch == '"' || ch == '\\') c += '\\';  // JSON-escaped, as engines send them
      c += ch;
    }
    return c;
  };
  for (int trial = 0; trial < 300; ++trial) {
    const int events = pick(0, 60);
    const bool usage = pick(0, 1) == 1;
    const int prompt = pick(0, 100000), completion = pick(0, 5000), cached = pick(0, prompt);
    std::string s;
    for (int i = 0; i < events; ++i) {
      s += "data: {\"id\":\"" + content() + "\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"" + content() +
           "\"}}]}\n\n";
    }
    if (usage) {
      s += "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":" + std::to_string(prompt) +
           ",\"completion_tokens\":" + std::to_string(completion) +
           ",\"prompt_tokens_details\":{\"cached_tokens\":" + std::to_string(cached) + "}}}\n\n";
    }
    s += "data: [DONE]\n\n";
    UsageMeter m;
    for (size_t at = 0; at < s.size();) {
      const auto len = static_cast<size_t>(pick(1, 200));
      m.feed(std::string_view(s).substr(at, len));
      at += len;
    }
    ASSERT_EQ(m.output_tokens(), usage ? static_cast<uint32_t>(completion) : static_cast<uint32_t>(events)) << s;
    if (usage) {
      ASSERT_EQ(m.prompt_tokens(), static_cast<uint32_t>(prompt)) << s;
      ASSERT_EQ(m.cached_tokens(), static_cast<uint32_t>(cached)) << s;
    } else {
      ASSERT_FALSE(m.prompt_tokens()) << s;
    }
    // The same answer as one non-streamed body, the usage object at any offset.
    UsageMeter body;
    body.feed("{\"id\":\"" + content() + "\",\"choices\":[{\"message\":{\"content\":\"" + content() +
              "\"}}],\"usage\":{\"prompt_tokens\":" + std::to_string(prompt) +
              ",\"completion_tokens\":" + std::to_string(completion) + "}}");
    ASSERT_EQ(body.output_tokens(), static_cast<uint32_t>(completion));
    ASSERT_EQ(body.prompt_tokens(), static_cast<uint32_t>(prompt));
  }
}

// feed_body() reads a whole body from its last "usage" key on: the same numbers as
// feed() on bodies with the usage object anywhere (first, last, between other fields),
// with none, with "usage" as a string value or escaped in content, or an event stream
// with a usage chunk.
TEST(UsageMeterTest, AWholeBodyReadFromItsUsageTailAsFeedReadsIt) {
  std::mt19937 rng(11);
  auto pick = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  const std::string alphabet = "abcpu \\\"xyz:{}[],0123";
  auto content = [&] {
    std::string c;
    for (int i = pick(0, 30); i > 0; --i) {
      const char ch = alphabet[static_cast<size_t>(pick(0, static_cast<int>(alphabet.size()) - 1))];
      if (ch == '"' || ch == '\\') c += '\\';
      c += ch;
    }
    if (pick(0, 4) == 0) c += "\\\"usage\\\":{\\\"completion_tokens\\\":99}";  // escaped: not a key
    return c;
  };
  int from_tail = 0;
  for (int trial = 0; trial < 3000; ++trial) {
    const std::string usage = "\"usage\":{\"prompt_tokens\":" + std::to_string(pick(0, 9000)) +
                              (pick(0, 3) ? ",\"completion_tokens\":" + std::to_string(pick(0, 900)) : "") +
                              (pick(0, 1) ? ",\"prompt_tokens_details\":{\"cached_tokens\":" + std::to_string(pick(0, 50)) + "}" : "") +
                              "}";
    std::string b;
    switch (pick(0, 4)) {
      case 0: b = "{" + usage + ",\"choices\":[{\"text\":\"" + content() + "\"}]}"; break;
      case 1: b = "{\"choices\":[{\"text\":\"" + content() + "\"}]," + usage + "}"; break;
      case 2: b = "{\"id\":\"usage\",\"choices\":[{\"text\":\"" + content() + "\"}]}"; break;
      case 3: b = "{\"choices\":[{\"text\":\"" + content() + "\"}]," + usage + ",\"model\":\"usage\"}"; break;
      default:
        b = "data: {\"choices\":[{\"delta\":{\"content\":\"" + content() + "\"}}]}\n\ndata: {\"choices\":[]," + usage +
            "}\n\ndata: [DONE]\n\n";
    }
    UsageMeter whole, tail;
    whole.feed(b);
    tail.feed_body(b);
    ASSERT_EQ(tail.output_tokens(), whole.output_tokens()) << b;
    ASSERT_EQ(tail.prompt_tokens(), whole.prompt_tokens()) << b;
    ASSERT_EQ(tail.cached_tokens(), whole.cached_tokens()) << b;
    if (b.find("\"completion_tokens\"") != std::string::npos) ++from_tail;
  }
  EXPECT_GT(from_tail, 1000);  // most bodies were read from their tail
}

}  // namespace
}  // namespace tidal::gateway
