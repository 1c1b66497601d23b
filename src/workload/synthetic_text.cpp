#include "workload/synthetic_text.h"

#include "common/tokens.h"
#include "workload/trace_reader.h"

namespace tidal::workload {
namespace {

uint64_t splitmix(uint64_t& x) {
  uint64_t z = (x += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

void append_words(std::string& out, uint64_t seed, uint32_t tokens) {
  // One token = three lowercase letters and a space.
  uint64_t state = seed;
  for (uint32_t i = 0; i < tokens; ++i) {
    const uint64_t r = splitmix(state);
    out.push_back(static_cast<char>('a' + r % 26));
    out.push_back(static_cast<char>('a' + (r >> 8) % 26));
    out.push_back(static_cast<char>('a' + (r >> 16) % 26));
    out.push_back(' ');
  }
}

}  // namespace

std::string synthetic_text(uint64_t seed, uint32_t tokens) {
  std::string out;
  out.reserve(static_cast<size_t>(tokens) * kBytesPerToken);
  append_words(out, seed, tokens);
  return out;
}

std::string prompt_from_hash_ids(std::span<const uint64_t> hash_ids, uint32_t tokens, uint64_t seed) {
  std::string out;
  out.reserve(static_cast<size_t>(tokens) * kBytesPerToken);
  for (uint64_t id : hash_ids) {
    if (out.size() >= static_cast<size_t>(tokens) * kBytesPerToken) break;
    append_words(out, id * 0x2545F4914F6CDD1DULL + 1, kMooncakeBlockTokens);
  }
  const size_t want = static_cast<size_t>(tokens) * kBytesPerToken;
  if (out.size() < want) append_words(out, seed, static_cast<uint32_t>((want - out.size()) / kBytesPerToken));
  out.resize(want);
  return out;
}

}  // namespace tidal::workload
