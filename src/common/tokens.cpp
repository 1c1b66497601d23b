#include "common/tokens.h"

#include "common/hash.h"

namespace tidal {

std::vector<uint64_t> prefix_block_hashes(std::string_view text) {
  constexpr size_t kBlockBytes = kKvBlockTokens * kBytesPerToken;
  std::vector<uint64_t> out;
  out.reserve(text.size() / kBlockBytes);
  uint64_t prev = kFnvOffset;
  for (size_t off = 0; off + kBlockBytes <= text.size(); off += kBlockBytes) {
    prev = fnv1a64(text.substr(off, kBlockBytes), prev);
    out.push_back(prev);
  }
  return out;
}

}  // namespace tidal
