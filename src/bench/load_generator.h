// The load generator behind `tidal bench`: sends OpenAI requests to a URL, open loop
// (each request at its planned time, whatever the server's pace) or closed loop (a
// fixed number of clients back to back), and measures each request from the client.
#pragma once

#include <string>
#include <vector>

#include "bench/conversation.h"
#include "bench/report.h"
#include "bench/request_source.h"

namespace tidal::bench {

struct BenchOptions {
  std::string url = "http://127.0.0.1:8080";
  std::string endpoint = "chat";        // chat (/v1/chat/completions) or completions (/v1/completions)
  std::string model;                    // "": no model field
  bool stream = false;
  uint32_t concurrency = 0;             // closed loop when > 0
  double timeout_s = 600;               // per request
  bool progress = false;                // progress bar on stderr
  SourceOptions source;
  // Multi-turn chat (conversation.users > 0): replaces the source's prompts and
  // arrivals; each turn's new message and reply lengths come from source.input/output.
  ConversationOptions conversation;
};

struct RunResult {
  std::vector<RequestResult> results;
  double duration_s = 0;
};

// Runs the whole load on this thread. Errors: bad URL, unreadable trace.
[[nodiscard]] Result<RunResult> run_load(const BenchOptions& opts);

}  // namespace tidal::bench
