// Readers for public LLM-serving traces (formats in shared/traces/README.md), shared
// by `tidal bench` and the simulator:
//   Azure LLM inference CSV  TIMESTAMP,ContextTokens,GeneratedTokens
//   Mooncake JSONL           {"timestamp": ms, "input_length", "output_length", "hash_ids": [...]}
#pragma once

#include <cstdint>
#include <istream>
#include <string>
#include <vector>

#include "common/error.h"

namespace tidal::workload {

struct TraceRequest {
  double arrival_s = 0;           // relative to the first request
  uint32_t input_tokens = 1;
  uint32_t output_tokens = 1;
  std::vector<uint64_t> hash_ids;  // Mooncake: 512-token prefix blocks
};

inline constexpr uint32_t kMooncakeBlockTokens = 512;

// Errors name the origin and line: "trace.csv:12: bad ContextTokens 'x'".
[[nodiscard]] Result<std::vector<TraceRequest>> read_azure_csv(std::istream& in, const std::string& origin);
[[nodiscard]] Result<std::vector<TraceRequest>> read_mooncake_jsonl(std::istream& in, const std::string& origin);
// By extension: .csv → Azure, .jsonl/.json → Mooncake.
[[nodiscard]] Result<std::vector<TraceRequest>> read_trace_file(const std::string& path);

// "YYYY-MM-DD HH:MM:SS[.fraction][+HH:MM]" → seconds since the Unix epoch (UTC).
[[nodiscard]] Result<double> parse_azure_timestamp(std::string_view text);

}  // namespace tidal::workload
