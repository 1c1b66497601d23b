// Parsing and validation of OpenAI completion requests (/v1/chat/completions and
// /v1/completions), shared by the emulated engine and the gateway. Only the fields
// tidal acts on are extracted; the gateway forwards the original bytes untouched.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"

namespace tidal::openai {

enum class Endpoint { kChat, kCompletion };

struct CompletionRequest {
  Endpoint endpoint = Endpoint::kChat;
  std::string model;                    // may be empty
  std::string prompt_text;              // message contents joined by "\n", or the prompt
  uint32_t prompt_tokens = 0;           // estimate (4 bytes/token) or exact for token-id prompts
  std::optional<uint32_t> max_tokens;   // max_tokens or max_completion_tokens
  bool stream = false;
  bool include_usage = false;           // stream_options.include_usage
  std::string user;                     // "user" field (session affinity later)
};

// Errors are kInvalidRequest with `param` naming the offending field.
[[nodiscard]] Result<CompletionRequest> parse_completion_request(Endpoint endpoint, std::string_view body);

}  // namespace tidal::openai
