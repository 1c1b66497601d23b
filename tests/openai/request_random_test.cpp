// The event (SAX) reader of parse_completion_request against the tree-based reading
// it replaced, on random bodies: the same request or the same error (message and
// param), including duplicate keys, wrong kinds, nesting and escapes.
#include <gtest/gtest.h>

#include <random>
#include <string>

#include <boost/json.hpp>

#include "common/tokens.h"
#include "openai/request.h"

namespace tidal::openai {
namespace {
namespace json = boost::json;

// The reference: the tree-based reading (json::parse, then lookups), as it was.
Error invalid(std::string message, std::string param = {}) {
  return make_error(ErrorKind::kInvalidRequest, std::move(message), std::move(param));
}

Result<std::string> content_text(const json::value& content, size_t index) {
  const std::string param = "messages[" + std::to_string(index) + "].content";
  if (content.is_null()) return std::string{};
  if (content.is_string()) return std::string(content.get_string());
  if (content.is_array()) {
    std::string out;
    for (const auto& part : content.get_array()) {
      if (!part.is_object()) return invalid("each content part must be an object", param);
      const auto* text = part.get_object().if_contains("text");
      if (text && text->is_string()) out.append(text->get_string());
    }
    return out;
  }
  return invalid("'content' must be a string or an array of parts", param);
}

Result<uint32_t> positive_int(const json::object& obj, std::string_view key) {
  const json::value& v = obj.at(key);
  const std::string k(key);
  if (!v.is_int64() && !v.is_uint64()) return invalid("'" + k + "' must be an integer", k);
  const int64_t n = v.is_int64() ? v.get_int64() : static_cast<int64_t>(std::min<uint64_t>(v.get_uint64(), INT64_MAX));
  if (n < 1 || n > 10'000'000) return invalid("'" + k + "' must be >= 1", k);
  return static_cast<uint32_t>(n);
}

Result<CompletionRequest> reference_parse(Endpoint endpoint, std::string_view body) {
  boost::system::error_code ec;
  json::value root = json::parse(body, ec);
  if (ec) return invalid("request body is not valid JSON: " + ec.message());
  if (!root.is_object()) return invalid("request body must be a JSON object");
  const json::object& obj = root.get_object();
  CompletionRequest out;
  out.endpoint = endpoint;
  if (const auto* model = obj.if_contains("model")) {
    if (!model->is_string()) return invalid("'model' must be a string", "model");
    out.model = std::string(model->get_string());
  }
  if (endpoint == Endpoint::kChat) {
    const auto* messages = obj.if_contains("messages");
    if (!messages) return invalid("'messages' is a required property", "messages");
    if (!messages->is_array() || messages->get_array().empty()) {
      return invalid("'messages' must be a non-empty array", "messages");
    }
    size_t i = 0;
    for (const auto& m : messages->get_array()) {
      if (!m.is_object()) return invalid("each message must be an object", "messages[" + std::to_string(i) + "]");
      const auto& mo = m.get_object();
      const auto* role = mo.if_contains("role");
      if (!role || !role->is_string()) {
        return invalid("each message needs a string 'role'", "messages[" + std::to_string(i) + "].role");
      }
      const json::value* content = mo.if_contains("content");
      auto text = content_text(content ? *content : json::value(nullptr), i);
      if (!text) return text.error();
      if (i > 0) out.prompt_text.push_back('\n');
      out.prompt_text.append(*text);
      ++i;
    }
    out.prompt_tokens = std::max<uint32_t>(1, estimate_tokens(out.prompt_text));
  } else {
    const auto* prompt = obj.if_contains("prompt");
    if (!prompt) return invalid("'prompt' is a required property", "prompt");
    if (prompt->is_string()) {
      out.prompt_text = std::string(prompt->get_string());
      out.prompt_tokens = std::max<uint32_t>(1, estimate_tokens(out.prompt_text));
    } else if (prompt->is_array()) {
      const auto& arr = prompt->get_array();
      if (arr.empty()) return invalid("'prompt' must not be empty", "prompt");
      if (arr[0].is_string()) {
        if (arr.size() != 1) return invalid("batched prompts are not supported; send one prompt per request", "prompt");
        out.prompt_text = std::string(arr[0].get_string());
        out.prompt_tokens = std::max<uint32_t>(1, estimate_tokens(out.prompt_text));
      } else if (arr[0].is_number()) {
        for (const auto& t : arr) {
          if (!t.is_int64() && !t.is_uint64()) return invalid("token-id prompts must be integers", "prompt");
          out.prompt_text.append(std::to_string(t.is_int64() ? t.get_int64() : static_cast<int64_t>(t.get_uint64())));
          out.prompt_text.push_back(' ');
        }
        out.prompt_tokens = static_cast<uint32_t>(arr.size());
      } else {
        return invalid("'prompt' must be a string, an array of one string, or an array of token ids", "prompt");
      }
    } else {
      return invalid("'prompt' must be a string or an array", "prompt");
    }
  }
  for (std::string_view key : {"max_tokens", "max_completion_tokens"}) {
    if (obj.contains(key) && !obj.at(key).is_null()) {
      auto n = positive_int(obj, key);
      if (!n) return n.error();
      out.max_tokens = *n;
    }
  }
  if (const auto* n = obj.if_contains("n"); n && !n->is_null()) {
    if (!n->is_int64() || n->get_int64() != 1) return invalid("only n = 1 is supported", "n");
  }
  if (const auto* stream = obj.if_contains("stream"); stream && !stream->is_null()) {
    if (!stream->is_bool()) return invalid("'stream' must be a boolean", "stream");
    out.stream = stream->get_bool();
  }
  if (const auto* so = obj.if_contains("stream_options"); so && !so->is_null()) {
    if (!so->is_object()) return invalid("'stream_options' must be an object", "stream_options");
    if (const auto* iu = so->get_object().if_contains("include_usage"); iu && !iu->is_null()) {
      if (!iu->is_bool()) return invalid("'include_usage' must be a boolean", "stream_options.include_usage");
      out.include_usage = iu->get_bool();
    }
  }
  if (const auto* user = obj.if_contains("user"); user && user->is_string()) out.user = std::string(user->get_string());
  return out;
}

// Random bodies: mostly well-formed requests with a fault or two, keys in any order
// and sometimes twice, values of every kind, strings with escapes, and now and then
// broken syntax.
class BodyMaker {
 public:
  explicit BodyMaker(uint64_t seed) : rng_(seed) {}

  std::string body(Endpoint ep) {
    std::string s;
    if (chance(0.03)) return scalar_or_container(2);  // not an object
    s.push_back('{');
    std::vector<std::string> members;
    if (chance(0.8)) members.push_back(member("model", chance(0.9) ? quoted_string() : any_value(2)));
    if (ep == Endpoint::kChat || chance(0.2)) members.push_back(member("messages", messages()));
    if (ep == Endpoint::kCompletion || chance(0.2)) members.push_back(member("prompt", prompt()));
    for (const char* key : {"max_tokens", "max_completion_tokens", "n"}) {
      if (chance(0.4)) members.push_back(member(key, integer_ish()));
    }
    if (chance(0.5)) members.push_back(member("stream", chance(0.8) ? boolean() : any_value(1)));
    if (chance(0.4)) members.push_back(member("stream_options", stream_options()));
    if (chance(0.4)) members.push_back(member("user", chance(0.8) ? quoted_string() : any_value(1)));
    if (chance(0.3)) members.push_back(member("temperature", any_value(2)));
    if (chance(0.2) && !members.empty()) members.push_back(members[pick(members.size())]);  // a duplicate
    if (chance(0.15) && !members.empty()) {  // a duplicate key with another value
      members.push_back(member(pick_of({"model", "messages", "prompt", "max_tokens", "stream", "user", "n"}), any_value(2)));
    }
    std::shuffle(members.begin(), members.end(), rng_);
    for (size_t i = 0; i < members.size(); ++i) {
      if (i) s.push_back(',');
      s += members[i];
    }
    s.push_back('}');
    if (chance(0.03)) s.insert(pick(s.size()), 1, pick_of({",", "}", "\"", "x", "["})[0]);  // broken
    if (chance(0.02)) s += " {}";                                                           // extra data
    return s;
  }

 private:
  bool chance(double p) { return std::uniform_real_distribution<double>(0, 1)(rng_) < p; }
  size_t pick(size_t n) { return std::uniform_int_distribution<size_t>(0, n - 1)(rng_); }
  std::string pick_of(std::initializer_list<const char*> xs) { return *(xs.begin() + pick(xs.size())); }

  static std::string member(std::string_view key, const std::string& value) {
    return "\"" + std::string(key) + "\":" + value;
  }

  std::string quoted_string() {
    std::string s = "\"";
    const size_t n = pick(chance(0.05) ? 3000 : 24);
    for (size_t i = 0; i < n; ++i) {
      const int r = static_cast<int>(pick(40));
      if (r == 0) s += "\\n";
      else if (r == 1) s += "\\\"";
      else if (r == 2) s += "\\u00e9";
      else if (r == 3) s += "\\\\";
      else s.push_back(static_cast<char>('a' + pick(26)));
    }
    return s + "\"";
  }
  std::string boolean() { return chance(0.5) ? "true" : "false"; }
  std::string integer_ish() {
    switch (pick(8)) {
      case 0: return "null";
      case 1: return "0";
      case 2: return "-3";
      case 3: return "18446744073709551615";
      case 4: return "2.5";
      case 5: return "\"9\"";
      case 6: return "99999999";
      default: return std::to_string(1 + pick(20));
    }
  }
  std::string scalar() {
    switch (pick(7)) {
      case 0: return "null";
      case 1: return boolean();
      case 2: return std::to_string(static_cast<int64_t>(pick(1000)) - 500);
      case 3: return "1.5e3";
      case 4: return "9223372036854775808";
      default: return quoted_string();
    }
  }
  std::string scalar_or_container(int depth) {
    if (depth <= 0 || chance(0.6)) return scalar();
    std::string s = chance(0.5) ? "[" : "{";
    const bool obj = s == "{";
    const size_t n = pick(4);
    for (size_t i = 0; i < n; ++i) {
      if (i) s.push_back(',');
      if (obj) s += "\"" + pick_of({"text", "role", "content", "include_usage", "k"}) + "\":";
      s += scalar_or_container(depth - 1);
    }
    return s + (obj ? "}" : "]");
  }
  std::string any_value(int depth) { return scalar_or_container(depth); }

  std::string part() {
    if (chance(0.05)) return any_value(1);
    std::vector<std::string> m;
    if (chance(0.8)) m.push_back(member("type", "\"text\""));
    if (chance(0.9)) m.push_back(member("text", chance(0.9) ? quoted_string() : any_value(1)));
    if (chance(0.1)) m.push_back(member("text", chance(0.5) ? quoted_string() : any_value(1)));
    std::shuffle(m.begin(), m.end(), rng_);
    return "{" + join(m) + "}";
  }
  std::string content() {
    if (chance(0.1)) return any_value(2);
    if (chance(0.1)) return "null";
    if (chance(0.25)) {
      std::vector<std::string> parts;
      for (size_t i = 0, n = pick(4); i < n; ++i) parts.push_back(part());
      return "[" + join(parts) + "]";
    }
    return quoted_string();
  }
  std::string message() {
    if (chance(0.04)) return any_value(1);
    std::vector<std::string> m;
    if (chance(0.95)) m.push_back(member("role", chance(0.95) ? "\"user\"" : any_value(1)));
    if (chance(0.9)) m.push_back(member("content", content()));
    if (chance(0.1)) m.push_back(member(chance(0.5) ? "content" : "role", chance(0.5) ? content() : any_value(1)));
    if (chance(0.2)) m.push_back(member("name", quoted_string()));
    std::shuffle(m.begin(), m.end(), rng_);
    return "{" + join(m) + "}";
  }
  std::string messages() {
    if (chance(0.05)) return any_value(2);
    std::vector<std::string> ms;
    for (size_t i = 0, n = chance(0.05) ? 0 : 1 + pick(5); i < n; ++i) ms.push_back(message());
    return "[" + join(ms) + "]";
  }
  std::string prompt() {
    switch (pick(6)) {
      case 0: return any_value(2);
      case 1: return "[" + quoted_string() + (chance(0.3) ? "," + any_value(1) : "") + "]";
      case 2: {
        std::vector<std::string> ids;
        for (size_t i = 0, n = pick(6); i < n; ++i) ids.push_back(chance(0.9) ? std::to_string(pick(50000)) : scalar());
        return "[" + join(ids) + "]";
      }
      default: return quoted_string();
    }
  }
  std::string stream_options() {
    if (chance(0.15)) return any_value(2);
    std::vector<std::string> m;
    if (chance(0.8)) m.push_back(member("include_usage", chance(0.8) ? boolean() : any_value(1)));
    if (chance(0.1)) m.push_back(member("include_usage", any_value(1)));
    if (chance(0.3)) m.push_back(member("other", any_value(1)));
    return "{" + join(m) + "}";
  }
  static std::string join(const std::vector<std::string>& xs) {
    std::string s;
    for (size_t i = 0; i < xs.size(); ++i) {
      if (i) s.push_back(',');
      s += xs[i];
    }
    return s;
  }

  std::mt19937_64 rng_;
};

TEST(OpenAiRequestRandomTest, EventReaderAgreesWithTheTreeReading) {
  BodyMaker maker(20261206);
  int accepted = 0, refused = 0;
  for (int i = 0; i < 20000; ++i) {
    const Endpoint ep = i % 2 ? Endpoint::kChat : Endpoint::kCompletion;
    const std::string body = maker.body(ep);
    const auto got = parse_completion_request(ep, body);
    const auto want = reference_parse(ep, body);
    ASSERT_EQ(got.has_value(), want.has_value()) << body << "\n" << (got ? want.error().message : got.error().message);
    if (!want) {
      ++refused;
      ASSERT_EQ(got.error().message, want.error().message) << body;
      ASSERT_EQ(got.error().param, want.error().param) << body;
      ASSERT_EQ(got.error().kind, want.error().kind) << body;
      continue;
    }
    ++accepted;
    ASSERT_EQ(got->model, want->model) << body;
    ASSERT_EQ(got->prompt_text, want->prompt_text) << body;
    ASSERT_EQ(got->prompt_tokens, want->prompt_tokens) << body;
    ASSERT_EQ(got->max_tokens, want->max_tokens) << body;
    ASSERT_EQ(got->stream, want->stream) << body;
    ASSERT_EQ(got->include_usage, want->include_usage) << body;
    ASSERT_EQ(got->user, want->user) << body;
    ASSERT_EQ(got->endpoint, want->endpoint) << body;
  }
  // Both outcomes are exercised in quantity.
  EXPECT_GT(accepted, 2000);
  EXPECT_GT(refused, 3000);
}

}  // namespace
}  // namespace tidal::openai
