// Deterministic prompt text of a known token count (4 bytes per token, matching the
// estimate in common/tokens.h). Mooncake hash ids become 512-token blocks of text, so
// requests that share leading ids share a real text prefix.
#pragma once

#include <cstdint>
#include <span>
#include <string>

namespace tidal::workload {

// `tokens` tokens of text (tokens*4 bytes) derived from `seed`.
[[nodiscard]] std::string synthetic_text(uint64_t seed, uint32_t tokens);
// The prompt for a Mooncake request: one 512-token block per hash id, cut to `tokens`.
[[nodiscard]] std::string prompt_from_hash_ids(std::span<const uint64_t> hash_ids, uint32_t tokens, uint64_t seed);

}  // namespace tidal::workload
