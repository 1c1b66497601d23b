#include "gateway/gatekeeper.h"

#include <charconv>
#include <chrono>
#include <cmath>

#include "common/hash.h"

namespace tidal::gateway {
namespace {

using SteadyClock = std::chrono::steady_clock;

std::string integer(double v) { return std::to_string(static_cast<int64_t>(std::floor(v))); }

// OpenAI's response headers for the key's limits.
void limit_headers(const admission::LimitDecision& d, Headers& out) {
  if (d.limit_requests > 0) {
    out.emplace_back("x-ratelimit-limit-requests", integer(d.limit_requests));
    out.emplace_back("x-ratelimit-remaining-requests", integer(d.remaining_requests));
    out.emplace_back("x-ratelimit-reset-requests", admission::reset_header(d.reset_requests_s));
  }
  if (d.limit_tokens > 0) {
    out.emplace_back("x-ratelimit-limit-tokens", integer(d.limit_tokens));
    out.emplace_back("x-ratelimit-remaining-tokens", integer(d.remaining_tokens));
    out.emplace_back("x-ratelimit-reset-tokens", admission::reset_header(d.reset_tokens_s));
  }
}

Denial rate_limited(const admission::LimitDecision& d, const std::string& whom, Headers headers, uint32_t tier) {
  const std::string what = d.exceeded;
  Denial out{make_error(ErrorKind::kRateLimited,
                        "Rate limit reached for " + whom + " on " + what + " per min. Please try again in " +
                            admission::reset_header(d.retry_after_s) + ".",
                        "", "rate_limit_exceeded"),
             DropReason::kRateLimited, std::move(headers), tier};
  out.headers.emplace_back("retry-after", std::to_string(std::max<int64_t>(1, static_cast<int64_t>(std::ceil(d.retry_after_s)))));
  return out;
}

}  // namespace

const admission::RateLimits* Gatekeeper::tenant_limits(const std::string& tenant) const {
  const auto& t = keys_.config().tenants;
  auto it = t.find(tenant);
  return it == t.end() || !it->second.any() ? nullptr : &it->second;
}

bool Gatekeeper::admin(const http::ServerRequest& req) const {
  return keys_.admin(bearer_token(req["authorization"]));
}

std::variant<Pass, Denial> Gatekeeper::check(const http::ServerRequest& req, const openai::CompletionRequest& parsed,
                                             const admission::AdmissionConfig& tiers) {
  Pass pass;
  if (keys_.enabled()) {
    const std::string_view token = bearer_token(req["authorization"]);
    if (token.empty()) {
      return Denial{make_error(ErrorKind::kAuthentication,
                               "You didn't provide an API key. Provide it in the Authorization header (Bearer auth).",
                               "", "invalid_api_key")};
    }
    pass.key = keys_.find(token);
    if (!pass.key) {
      return Denial{make_error(ErrorKind::kAuthentication, "Incorrect API key provided.", "", "invalid_api_key")};
    }
    const auto& models = pass.key->models;
    if (!models.empty() && std::find(models.begin(), models.end(), parsed.model) == models.end()) {
      return Denial{make_error(ErrorKind::kNotFound,
                               "The model `" + parsed.model + "` does not exist or you do not have access to it.",
                               "model", "model_not_found")};
    }
  }
  pass.tenant = pass.key ? pass.key->tenant : "anonymous";
  pass.who.tenant = fnv1a64(pass.tenant);
  pass.who.tier = tiers.default_index();
  if (pass.key && !pass.key->tier.empty()) {
    if (const int t = tiers.tier_index(pass.key->tier); t >= 0) pass.who.tier = static_cast<uint32_t>(t);
  }
  // x-tidal-priority names a tier; honoured when auth is off or the key may use it. The
  // routing hints high / normal / low that name no tier are left to routing.
  if (const auto p = req["x-tidal-priority"]; !p.empty() && (!pass.key || pass.key->priority_header)) {
    if (const int t = tiers.tier_index(p); t >= 0) {
      pass.who.tier = static_cast<uint32_t>(t);
    } else if (p != "high" && p != "normal" && p != "low") {
      std::string known;
      for (const auto& tier : tiers.tiers) known += (known.empty() ? "" : ", ") + tier.name;
      return Denial{make_error(ErrorKind::kInvalidRequest,
                               "x-tidal-priority: unknown tier '" + std::string(p) + "' (tiers: " + known + ")",
                               "x-tidal-priority")};
    }
  }
  if (const auto t = req["x-tidal-ttft-ms"]; !t.empty()) {
    double ms = 0;
    const auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), ms);
    if (ec != std::errc() || end != t.data() + t.size() || !(ms > 0)) {
      return Denial{make_error(ErrorKind::kInvalidRequest, "x-tidal-ttft-ms must be a positive number of milliseconds",
                               "x-tidal-ttft-ms")};
    }
    pass.who.ttft_deadline =
        SteadyClock::now() + std::chrono::duration_cast<SteadyClock::duration>(std::chrono::duration<double, std::milli>(ms));
  }

  return pass;
}

bool Gatekeeper::limited(const Pass& pass) const {
  return pass.key && (pass.key->limits.any() || tenant_limits(pass.tenant) != nullptr);
}

http::awaitable<std::optional<Denial>> Gatekeeper::limit(Pass& pass, const openai::CompletionRequest& parsed) {
  // The key's, then its tenant's; both must pass.
  const admission::RateLimits* key_limits = pass.key && pass.key->limits.any() ? &pass.key->limits : nullptr;
  const admission::RateLimits* ten_limits = pass.key ? tenant_limits(pass.tenant) : nullptr;
  if (!key_limits && !ten_limits) co_return std::nullopt;
  pass.reserved_tokens =
      static_cast<double>(parsed.prompt_tokens) + (parsed.max_tokens ? *parsed.max_tokens : kDefaultReservedOutputTokens);
  auto unavailable = [&]() -> std::optional<Denial> {
    if (fail_open_) return std::nullopt;
    return Denial{make_error(ErrorKind::kUnavailable, "the rate limiter is unavailable; try again", "",
                             "rate_limiter_unavailable"),
                  DropReason::kShed, {}, pass.who.tier};
  };
  bool key_reserved = false;
  if (key_limits) {
    const auto b = co_await limiter_->reserve("key:" + pass.key->digest, *key_limits, pass.reserved_tokens);
    if (b.unavailable) {
      pass.reserved_tokens = 0;  // nothing to reconcile
      co_return unavailable();
    }
    limit_headers(b.decision, pass.headers);
    if (!b.decision.allowed) {
      pass.reserved_tokens = 0;
      co_return rate_limited(b.decision, "key " + pass.key->name, std::move(pass.headers), pass.who.tier);
    }
    key_reserved = true;
  }
  if (ten_limits) {
    const auto b = co_await limiter_->reserve("tenant:" + pass.tenant, *ten_limits, pass.reserved_tokens);
    if (b.unavailable || !b.decision.allowed) {
      if (key_reserved) limiter_->cancel("key:" + pass.key->digest, *key_limits, pass.reserved_tokens);
      pass.reserved_tokens = 0;
      if (b.unavailable) co_return unavailable();
      co_return rate_limited(b.decision, "tenant " + pass.tenant, std::move(pass.headers), pass.who.tier);
    }
  }
  co_return std::nullopt;
}

void Gatekeeper::finish(const Pass& pass, double used_tokens) {
  if (!pass.key || pass.reserved_tokens <= 0) return;
  if (pass.key->limits.any()) {
    limiter_->reconcile("key:" + pass.key->digest, pass.key->limits, pass.reserved_tokens, used_tokens);
  }
  if (const auto* t = tenant_limits(pass.tenant)) {
    limiter_->reconcile("tenant:" + pass.tenant, *t, pass.reserved_tokens, used_tokens);
  }
}

}  // namespace tidal::gateway
