// Counts what a response carried, for the autoscaler's signals (output tokens/s, TPOT,
// the slo policy's calibration samples) without parsing JSON on the hot path: the
// relayed bytes are scanned for SSE events (one `data:` event per token, as vLLM,
// llama.cpp, SGLang and TGI stream) and for the OpenAI `usage` object, whose
// completion_tokens / prompt_tokens win when present (non-streamed bodies, or streams
// with stream_options.include_usage). Pure; chunk boundaries may fall anywhere.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>

namespace tidal::gateway {

class UsageMeter {
 public:
  void feed(std::string_view bytes);
  // A whole body that is not an event stream, on a fresh meter: its numbers are read
  // from its last `"usage"` key on (engines put the usage object at the end), so only
  // the body's tail is scanned; without completion_tokens there, the body is fed whole.
  void feed_body(std::string_view body);
  // completion_tokens of a usage object if one was seen, else the number of data
  // events other than [DONE] (the usage-only final chunk of a stream not counted).
  [[nodiscard]] uint32_t output_tokens() const;
  [[nodiscard]] std::optional<uint32_t> prompt_tokens() const { return prompt_; }
  // usage.prompt_tokens_details.cached_tokens (vLLM, SGLang, OpenAI), when present.
  [[nodiscard]] std::optional<uint32_t> cached_tokens() const { return cached_; }

 private:
  static constexpr size_t kCarry = 48;  // longer than any pattern plus its number
  // Counts events in `buf` whose match ends after `from` and starts before `until`;
  // reads usage numbers anywhere in it (setting them again is harmless).
  void scan(std::string_view buf, size_t from, size_t until);

  std::array<char, kCarry> carry_{'\n'};  // the last bytes fed: a match may straddle two chunks
  size_t carry_len_ = 1;
  uint32_t events_ = 0, done_ = 0, usage_only_ = 0;
  std::optional<uint32_t> completion_, prompt_, cached_;
};

}  // namespace tidal::gateway
