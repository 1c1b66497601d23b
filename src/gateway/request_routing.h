// What routing learns about a request (routing::RequestInfo) and how it ended
// (routing::Outcome), from the parsed body, the headers and the proxy's outcome.
#pragma once

#include <string>
#include <vector>

#include "gateway/proxy.h"
#include "http/server_request.h"
#include "openai/request.h"
#include "routing/replica_view.h"

namespace tidal::gateway {

// A RequestInfo with the storage its views point into; not copyable (the views would dangle).
struct RoutedRequest {
  RoutedRequest() = default;
  RoutedRequest(const RoutedRequest&) = delete;
  RoutedRequest& operator=(const RoutedRequest&) = delete;

  std::string session;
  std::vector<uint64_t> prefix;
  routing::RequestInfo info;
};

// Fills `out`: model, session (header x-session-id, else the body's `user`), prompt
// and max tokens, priority (x-tidal-priority: high | normal | low), and the prompt's
// chained 16-token block hashes — only when `with_prefix` (a policy reads them).
void describe_request(const openai::CompletionRequest& parsed, const http::ServerRequest& req, bool with_prefix,
                      RoutedRequest& out);

// The routing outcome of a finished attempt.
[[nodiscard]] routing::Outcome routing_outcome(const ProxyOutcome& out, Duration e2e);

}  // namespace tidal::gateway
