#include "openai/request.h"

#include <boost/json.hpp>

#include "common/tokens.h"

namespace tidal::openai {
namespace json = boost::json;
namespace {

Error invalid(std::string message, std::string param = {}) {
  return make_error(ErrorKind::kInvalidRequest, std::move(message), std::move(param));
}

// Text of a message's content: a string, or an array of parts with "text".
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

// "'key' rest", built by appending: GCC 12 at -O3 flags `"'" + std::string(...)` with a
// false -Wrestrict (GCC bug 105329).
std::string quoted(std::string_view key, std::string_view rest) {
  std::string s = "'";
  s.append(key).append("' ").append(rest);
  return s;
}

Result<uint32_t> positive_int(const json::object& obj, std::string_view key) {
  const json::value& v = obj.at(key);
  if (!v.is_int64() && !v.is_uint64()) return invalid(quoted(key, "must be an integer"), std::string(key));
  const int64_t n = v.is_int64() ? v.get_int64() : static_cast<int64_t>(std::min<uint64_t>(v.get_uint64(), INT64_MAX));
  if (n < 1 || n > 10'000'000) return invalid(quoted(key, "must be >= 1"), std::string(key));
  return static_cast<uint32_t>(n);
}

}  // namespace

Result<CompletionRequest> parse_completion_request(Endpoint endpoint, std::string_view body) {
  boost::system::error_code ec;
  // The parsed tree lives only in this call: a monotonic arena, on the stack for a typical
  // body, instead of one heap allocation per key and string (10 % of a proxied request's
  // mallocs).
  unsigned char arena[4096];
  json::monotonic_resource resource(arena, sizeof arena);
  json::value root = json::parse(body, ec, &resource);
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
        // Token ids: the count is exact; the ids themselves stand in for the text.
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

}  // namespace tidal::openai
