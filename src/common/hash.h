// FNV-1a 64, the one string hash of tidal: prefix block hashes (chained through
// `seed`), session keys and model names.
#pragma once

#include <cstdint>
#include <string_view>

namespace tidal {

inline constexpr uint64_t kFnvOffset = 0xcbf29ce484222325ULL;

inline uint64_t fnv1a64(std::string_view s, uint64_t seed = kFnvOffset) {
  uint64_t h = seed;
  for (unsigned char c : s) h = (h ^ c) * 0x100000001b3ULL;
  return h;
}

}  // namespace tidal
