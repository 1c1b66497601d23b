// One upstream attempt: send the client's request to a replica over a pooled
// keep-alive connection and relay the answer. Event streams are forwarded chunk by
// chunk as bytes arrive; other bodies are read whole (they are small) and sent with a
// Content-Length. Nothing of the upstream's reaches the client before it answered, so
// a failed attempt can be retried elsewhere. A client whose event stream was started
// already (keep-alive comments while waiting at zero) gets the relay without new
// headers; a non-stream answer then goes as one `data:` event.
#pragma once

#include <chrono>
#include <array>
#include <optional>
#include <span>
#include <utility>
#include <string>
#include <string_view>

#include "common/clock.h"
#include "fleet/registry.h"
#include "http/client.h"
#include "http/exchange.h"
#include "http/server_request.h"

namespace tidal::gateway {

struct ProxyTimeouts {
  std::chrono::milliseconds connect{2000};
  std::chrono::milliseconds idle{120'000};  // longest upstream silence
  TimePoint deadline{};                      // end of the whole exchange
};

enum class ProxyResult {
  kDone,          // a response (any status) was relayed completely
  kRetryable,     // failed before any byte reached the client
  kBroken,        // failed after bytes reached the client; the connection is closed
  kClientGone,    // the client left; the upstream request was abandoned (cancelled)
  kLost,          // a hedged attempt whose twin answered first; abandoned, nothing sent
};

// The two attempts of a hedged request: the first whose answer starts (first token of
// a stream, whole body otherwise) claims the client; claiming closes the other's
// upstream connection, so its engine cancels the sequence. Both attempts run on the
// request's event loop.
struct HedgeRace {
  int winner = -1;
  std::array<http::Stream*, 2> upstream{};  // each lane's connection while it has one
  // True if `lane` may answer the client (it is the first, or already the winner).
  bool claim(int lane);
  [[nodiscard]] bool lost(int lane) const { return winner >= 0 && winner != lane; }
};

enum class UpstreamError { kNone, kConnect, kReset, kTimeout };

struct ProxyOutcome {
  ProxyResult result = ProxyResult::kRetryable;
  UpstreamError error = UpstreamError::kNone;
  bool refused = false;        // connection refused: eject the replica at once
  unsigned status = 0;         // upstream status, when one was received
  Duration ttft{};             // time to the first body byte relayed
  Duration last_byte{};        // time to the last body byte relayed (streams)
  bool streamed = false;       // an event stream (ttft and last_byte mark its first and last token)
  uint32_t output_tokens = 0;  // counted by gateway::UsageMeter
  std::optional<uint32_t> prompt_tokens;  // from the response's usage, when it has one
  std::optional<uint32_t> cached_tokens;  // usage.prompt_tokens_details.cached_tokens
  std::string message;         // for logs and the 502 body
  bool client_saw_error_event = false;  // kBroken: the stream ended with an SSE error event
};

// The request sent upstream, serialized once (a retry or a hedge sends the same bytes
// to another replica): the client's method, target, body and end-to-end headers
// (hop-by-hop headers, Accept-Encoding and X-Conversation-Id removed; Authorization too
// when `strip_authorization`, i.e. tidal checks API keys itself, or replaced by
// `authorization` when that is set; see docs/gateway.md). proxy_exchange adds the
// replica's Host.
struct UpstreamRequest {
  std::string head;  // request line and headers, each line ending in CRLF; no Host, no blank line
  std::string body;
};
[[nodiscard]] UpstreamRequest make_upstream_request(http::ServerRequest& client, bool strip_authorization = false,
                                                    std::string_view authorization = {});

// The attempt's outcome goes into `out` (a return value would be a second copy, in
// this frame's promise and the caller's frame). `ticket` is the request's
// routing::Ticket on `replica`: its first token is marked in the replica's stats as
// soon as the first byte of the answer arrives. `extra_headers` go on the client's
// response (rate-limit headers).
http::awaitable<void> proxy_exchange(http::ConnectionPool& pool, fleet::Replica& replica, const UpstreamRequest& upstream,
                                     http::Exchange& client, const ProxyTimeouts& timeouts, TimePoint started,
                                     routing::Ticket& ticket, ProxyOutcome& out,
                                     std::span<const std::pair<std::string, std::string>> extra_headers = {},
                                     HedgeRace* race = nullptr, int lane = 0);

}  // namespace tidal::gateway
