#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "openai/error.h"
#include "openai/request.h"

namespace tidal::openai {
namespace {

TEST(OpenAiRequestTest, ParsesChatFields) {
  auto r = parse_completion_request(Endpoint::kChat, R"({"model":"m","messages":[{"role":"system","content":"abcd"},
      {"role":"user","content":[{"type":"text","text":"efgh"}]}],"max_tokens":9,"stream":true,
      "stream_options":{"include_usage":true},"user":"u1"})");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->model, "m");
  EXPECT_EQ(r->prompt_text, "abcd\nefgh");
  EXPECT_EQ(r->prompt_tokens, 3u);
  EXPECT_EQ(r->max_tokens, 9u);
  EXPECT_TRUE(r->stream);
  EXPECT_TRUE(r->include_usage);
  EXPECT_EQ(r->user, "u1");
}

TEST(OpenAiRequestTest, ParsesCompletionPromptForms) {
  auto s = parse_completion_request(Endpoint::kCompletion, R"({"prompt":"12345678","max_completion_tokens":2})");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->prompt_tokens, 2u);
  EXPECT_EQ(s->max_tokens, 2u);
  auto ids = parse_completion_request(Endpoint::kCompletion, R"({"prompt":[1,2,3,4,5]})");
  ASSERT_TRUE(ids);
  EXPECT_EQ(ids->prompt_tokens, 5u);
  EXPECT_FALSE(ids->max_tokens);
  EXPECT_TRUE(parse_completion_request(Endpoint::kCompletion, R"({"prompt":["one"]})"));
}

TEST(OpenAiRequestTest, RefusesBadRequestsNamingTheField) {
  struct Case {
    Endpoint ep;
    const char* body;
    const char* param;
  } cases[] = {
      {Endpoint::kChat, "{not json", ""},
      {Endpoint::kChat, "[]", ""},
      {Endpoint::kChat, "{}", "messages"},
      {Endpoint::kChat, R"({"messages":[]})", "messages"},
      {Endpoint::kChat, R"({"messages":[{"content":"x"}]})", "messages[0].role"},
      {Endpoint::kChat, R"({"messages":[{"role":"user","content":5}]})", "messages[0].content"},
      {Endpoint::kChat, R"({"messages":[{"role":"user","content":"x"}],"max_tokens":0})", "max_tokens"},
      {Endpoint::kChat, R"({"messages":[{"role":"user","content":"x"}],"max_tokens":"9"})", "max_tokens"},
      {Endpoint::kChat, R"({"messages":[{"role":"user","content":"x"}],"stream":"yes"})", "stream"},
      {Endpoint::kChat, R"({"messages":[{"role":"user","content":"x"}],"n":3})", "n"},
      {Endpoint::kChat, R"({"model":7,"messages":[{"role":"user","content":"x"}]})", "model"},
      {Endpoint::kCompletion, "{}", "prompt"},
      {Endpoint::kCompletion, R"({"prompt":["a","b"]})", "prompt"},
      {Endpoint::kCompletion, R"({"prompt":{}})", "prompt"},
  };
  for (const auto& c : cases) {
    auto r = parse_completion_request(c.ep, c.body);
    ASSERT_FALSE(r) << c.body;
    EXPECT_EQ(r.error().kind, ErrorKind::kInvalidRequest) << c.body;
    EXPECT_EQ(r.error().param, c.param) << c.body;
  }
}

TEST(OpenAiErrorTest, BodyHasOpenAiShapeAndStatusesMap) {
  auto body = boost::json::parse(error_body(make_error(ErrorKind::kUnavailable, "no \"replica\"", "", "no_replica")));
  const auto& e = body.at("error").as_object();
  EXPECT_EQ(e.at("message").as_string(), "no \"replica\"");
  EXPECT_EQ(e.at("type").as_string(), "service_unavailable_error");
  EXPECT_TRUE(e.at("param").is_null());
  EXPECT_EQ(e.at("code").as_string(), "no_replica");
  EXPECT_EQ(http_status(ErrorKind::kInvalidRequest), 400u);
  EXPECT_EQ(http_status(ErrorKind::kPayloadTooLarge), 413u);
  EXPECT_EQ(http_status(ErrorKind::kNotFound), 404u);
  EXPECT_EQ(http_status(ErrorKind::kUnavailable), 503u);
  EXPECT_EQ(http_status(ErrorKind::kUpstream), 502u);
}

}  // namespace
}  // namespace tidal::openai
