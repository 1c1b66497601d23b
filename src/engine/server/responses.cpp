#include "engine/server/responses.h"

#include <boost/json.hpp>

namespace tidal::engine {
namespace json = boost::json;
namespace {

json::object base(const ResponseContext& ctx, bool chunk) {
  json::object o;
  o["id"] = ctx.id;
  const bool chat = ctx.endpoint == openai::Endpoint::kChat;
  o["object"] = chat ? (chunk ? "chat.completion.chunk" : "chat.completion") : "text_completion";
  o["created"] = ctx.created;
  o["model"] = ctx.model;
  return o;
}

json::value finish(std::string_view reason) {
  return reason.empty() ? json::value(nullptr) : json::value(reason);
}

json::object usage_json(const Usage& u) {
  json::object o;
  o["prompt_tokens"] = u.prompt_tokens;
  o["total_tokens"] = u.prompt_tokens + u.completion_tokens;
  o["completion_tokens"] = u.completion_tokens;
  o["prompt_tokens_details"] = json::object{{"cached_tokens", u.cached_tokens}};
  return o;
}

}  // namespace

std::string_view token_text(uint64_t seed, uint32_t index) {
  static constexpr std::string_view kWords[] = {
      " the", " tide", " rose", " and", " fell", " over", " sand", " as", " ships",
      " came", " in", " to", " port", " at", " dawn", " with", " cargo", " from", " far", " away"};
  constexpr size_t n = sizeof(kWords) / sizeof(kWords[0]);
  const uint64_t h = (seed * 0x9E3779B97F4A7C15ULL) ^ (index * 0xC2B2AE3D27D4EB4FULL);
  return kWords[(h >> 17) % n];
}

std::string stream_chunk(const ResponseContext& ctx, std::string_view text, std::string_view finish_reason,
                         bool role_chunk) {
  json::object o = base(ctx, true);
  json::object choice;
  choice["index"] = 0;
  if (ctx.endpoint == openai::Endpoint::kChat) {
    json::object delta;
    if (role_chunk) delta["role"] = "assistant";
    delta["content"] = text;
    choice["delta"] = std::move(delta);
    choice["logprobs"] = nullptr;
  } else {
    choice["text"] = text;
    choice["logprobs"] = nullptr;
  }
  choice["finish_reason"] = finish(finish_reason);
  o["choices"] = json::array{std::move(choice)};
  return json::serialize(o);
}

std::string usage_chunk(const ResponseContext& ctx, const Usage& usage) {
  json::object o = base(ctx, true);
  o["choices"] = json::array{};
  o["usage"] = usage_json(usage);
  return json::serialize(o);
}

std::string full_response(const ResponseContext& ctx, std::string_view text, std::string_view finish_reason,
                          const Usage& usage) {
  json::object o = base(ctx, false);
  json::object choice;
  choice["index"] = 0;
  if (ctx.endpoint == openai::Endpoint::kChat) {
    choice["message"] = json::object{{"role", "assistant"}, {"content", text}};
  } else {
    choice["text"] = text;
  }
  choice["logprobs"] = nullptr;
  choice["finish_reason"] = finish(finish_reason);
  o["choices"] = json::array{std::move(choice)};
  o["usage"] = usage_json(usage);
  return json::serialize(o);
}

}  // namespace tidal::engine
