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
#include "http/types.h"
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
  explicit Gatekeeper(AuthConfig config) : keys_(std::move(config)) {}

  // `tiers`: the admission config of the pool the request goes to.
  [[nodiscard]] std::variant<Pass, Denial> check(const http::Request& req, const openai::CompletionRequest& parsed,
                                                 const admission::AdmissionConfig& tiers);
  // The response ended having used `used_tokens` (prompt + completion).
  void finish(const Pass& pass, double used_tokens);
  // /admin/*: whether the request carries the admin token (or none is configured).
  [[nodiscard]] bool admin(const http::Request& req) const;
  [[nodiscard]] KeyStore& keys() { return keys_; }

 private:
  const admission::RateLimits* tenant_limits(const std::string& tenant) const;

  KeyStore keys_;
  admission::LocalLimiter limiter_;
};

}  // namespace tidal::gateway
