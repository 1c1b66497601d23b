// The JSON bodies the emulator sends, in OpenAI's exact shapes: chat and text
// completion objects, stream chunks, the usage chunk, and the emitted token text.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "openai/request.h"

namespace tidal::engine {

struct ResponseContext {
  openai::Endpoint endpoint;
  std::string id;          // "chatcmpl-…" / "cmpl-…"
  std::string model;       // as reported back
  int64_t created = 0;     // unix seconds
};

struct Usage {
  uint32_t prompt_tokens = 0;
  uint32_t completion_tokens = 0;
  uint32_t cached_tokens = 0;
};

// Text of output token `index` of request `seed`: a short word with a leading space.
[[nodiscard]] std::string_view token_text(uint64_t seed, uint32_t index);

// `finish_reason` empty means null. For chat, `role_chunk` adds the assistant role delta.
[[nodiscard]] std::string stream_chunk(const ResponseContext& ctx, std::string_view text,
                                       std::string_view finish_reason, bool role_chunk);
[[nodiscard]] std::string usage_chunk(const ResponseContext& ctx, const Usage& usage);
[[nodiscard]] std::string full_response(const ResponseContext& ctx, std::string_view text,
                                        std::string_view finish_reason, const Usage& usage);

}  // namespace tidal::engine
