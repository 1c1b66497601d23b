#include "common/tokens.h"

namespace tidal {

std::vector<uint64_t> prefix_block_hashes(std::string_view text) {
  constexpr size_t kBlockBytes = kKvBlockTokens * kBytesPerToken;
  std::vector<uint64_t> out;
  out.reserve(text.size() / kBlockBytes);
  uint64_t prev = 0xcbf29ce484222325ULL;
  for (size_t off = 0; off + kBlockBytes <= text.size(); off += kBlockBytes) {
    uint64_t h = prev;
    for (size_t i = off; i < off + kBlockBytes; ++i) {
      h ^= static_cast<unsigned char>(text[i]);
      h *= 0x100000001b3ULL;
    }
    out.push_back(h);
    prev = h;
  }
  return out;
}

}  // namespace tidal
