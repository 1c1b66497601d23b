#include "gateway/request_routing.h"

#include "common/tokens.h"

namespace tidal::gateway {

void describe_request(const openai::CompletionRequest& parsed, const http::ServerRequest& req, bool with_prefix,
                      RoutedRequest& out) {
  if (const std::string_view h = req["x-session-id"]; !h.empty()) {
    out.session = std::string(h);
  } else {
    out.session = parsed.user;
  }
  if (with_prefix) out.prefix = prefix_block_hashes(parsed.prompt_text);
  auto& info = out.info;
  info.model = parsed.model;
  info.session = out.session;
  info.prompt_tokens = parsed.prompt_tokens;
  info.max_tokens = parsed.max_tokens.value_or(0);
  info.prefix = out.prefix;
  if (const std::string_view v = req["x-tidal-priority"]; !v.empty()) {
    info.priority = v == "high" ? routing::Priority::kHigh : v == "low" ? routing::Priority::kLow : routing::Priority::kNormal;
  }
}

routing::Outcome routing_outcome(const ProxyOutcome& out, Duration e2e) {
  routing::Outcome o;
  o.ttft = out.ttft;
  o.e2e = e2e;
  o.output_tokens = out.output_tokens;
  switch (out.result) {
    case ProxyResult::kClientGone:
    case ProxyResult::kLost: o.kind = routing::OutcomeKind::kCancelled; return o;
    case ProxyResult::kDone:
      o.kind = out.status >= 500 ? routing::OutcomeKind::kServerError
               : out.status >= 400 ? routing::OutcomeKind::kClientError
                                   : routing::OutcomeKind::kOk;
      return o;
    case ProxyResult::kRetryable:
    case ProxyResult::kBroken: break;
  }
  o.kind = out.error == UpstreamError::kTimeout ? routing::OutcomeKind::kTimeout
           : out.error == UpstreamError::kNone  ? routing::OutcomeKind::kServerError
                                                : routing::OutcomeKind::kReset;
  return o;
}

}  // namespace tidal::gateway
