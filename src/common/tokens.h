// The tokenizer estimate shared by the emulator, the gateway and the load generator:
// with no model there is no vocabulary, so one token is counted per 4 bytes of text
// (OpenAI's rule of thumb for English), rounded up, at least 1 for non-empty text.
// Prefix-cache block hashes are chained hashes over 64-byte (16-token) slices.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

namespace tidal {

inline constexpr uint32_t kBytesPerToken = 4;
inline constexpr uint32_t kKvBlockTokens = 16;

inline uint32_t estimate_tokens(std::string_view text) {
  return static_cast<uint32_t>((text.size() + kBytesPerToken - 1) / kBytesPerToken);
}

// Chained hashes of each full 16-token block of `text` (FNV-1a 64 over the block,
// seeded with the previous block's hash), so equal prefixes give equal leading hashes.
std::vector<uint64_t> prefix_block_hashes(std::string_view text);

}  // namespace tidal
