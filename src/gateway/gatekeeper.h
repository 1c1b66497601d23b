// Who may send a request and in which tier: the API key (401 when auth is on and the
// key is missing or unknown), its allowed models, its tier or the x-tidal-priority
// header it may use, its tenant (the fairness key), an x-tidal-ttft-ms deadline, and
// the rate limits of the key and its tenant (429 with OpenAI's x-ratelimit-* headers).
// Tokens are reserved at admission (prompt + max_tokens) and reconciled when the
// response ends, so a limit is never overshot silently.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "admission/config.h"
#include "admission/rate_limit.h"
#include "gateway/admission_queue.h"
#include "gateway/auth.h"
#include "gateway/gateway_metrics.h"
#include "gateway/rate_limiter.h"
#include "http/server_request.h"
#include "openai/request.h"

namespace tidal::gateway {

using Headers = std::vector<std::pair<std::string, std::string>>;

// A request let through: who it is and what it reserved.
struct Pass {
  std::shared_ptr<const ApiKey> key;  // null: anonymous (auth off)
  std::string tenant;
  Applicant who;
  double reserved_tokens = 0;
  Headers headers;                    // x-ratelimit-* for the response, when the key has limits
};

// A request refused before the queue; `reason` set when it counts as a drop.
struct Denial {
  Error error;
  std::optional<DropReason> reason;
  Headers headers;
  uint32_t tier = 0;                  // the request's tier, when reason is set
};

// Tokens reserved for a request with no max_tokens until its usage is known.
inline constexpr double kDefaultReservedOutputTokens = 512;

class Gatekeeper {
 public:
  // `fail_open`: when the limiter cannot decide (Redis down), admit (else 503).
  Gatekeeper(AuthConfig config, std::unique_ptr<RateLimiter> limiter, bool fail_open)
      : keys_(std::move(config)), limiter_(std::move(limiter)), fail_open_(fail_open) {}

  // Who it is and its tier. `tiers`: the admission config of the pool it goes to.
  [[nodiscard]] std::variant<Pass, Denial> check(const http::ServerRequest& req, const openai::CompletionRequest& parsed,
                                                 const admission::AdmissionConfig& tiers);
  // The key's and its tenant's rate limits: reserves prompt + max_tokens, fills the
  // x-ratelimit-* headers; a Denial when over a limit.
  http::awaitable<std::optional<Denial>> limit(Pass& pass, const openai::CompletionRequest& parsed);
  // Whether limit() has anything to check for this pass (its key or tenant has limits).
  [[nodiscard]] bool limited(const Pass& pass) const;
  // The response ended having used `used_tokens` (prompt + completion).
  void finish(const Pass& pass, double used_tokens);
  // /admin/*: whether the request carries the admin token (or none is configured).
  [[nodiscard]] bool admin(const http::ServerRequest& req) const;
  [[nodiscard]] KeyStore& keys() { return keys_; }
  [[nodiscard]] RateLimiter& limiter() { return *limiter_; }

 private:
  const admission::RateLimits* tenant_limits(const std::string& tenant) const;

  KeyStore keys_;
  std::unique_ptr<RateLimiter> limiter_;
  bool fail_open_;
};

}  // namespace tidal::gateway
