// Token-bucket rate limits on requests/min and tokens/min, the ledger behind them, and
// OpenAI's x-ratelimit-* header values. Pure: time comes in as seconds.
//
// One request reserves 1 request and prompt + max_tokens tokens at admission; when it
// ends, reconcile() gives back what it did not use (or charges the overshoot, leaving
// the bucket in debt), so a limit is never overshot silently by long answers.
//
//   LocalLimiter lim;
//   auto d = lim.reserve("key:ab12", {.requests_per_min = 60, .tokens_per_min = 10000}, 1200, now);
//   if (!d.allowed) → 429 with d's headers;  ... later: lim.reconcile("key:ab12", limits, 1200, 730, now);
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace tidal::admission {

struct RateLimits {
  double requests_per_min = 0;  // 0 = unlimited
  double tokens_per_min = 0;    // prompt + completion tokens; 0 = unlimited
  double burst = 1;             // bucket size in minutes of allowance; REQUIRES > 0

  [[nodiscard]] bool any() const { return requests_per_min > 0 || tokens_per_min > 0; }
};

// A bucket that refills continuously at `per_min / 60` per second up to `capacity`.
class TokenBucket {
 public:
  TokenBucket() = default;
  TokenBucket(double per_min, double capacity, double now_s) : rate_(per_min / 60), capacity_(capacity), level_(capacity), last_s_(now_s) {}

  // Takes n if available (the level may not go below zero by taking).
  bool take(double n, double now_s);
  // Adds n back (negative: charges an overshoot; the level may go negative).
  void adjust(double n, double now_s);
  [[nodiscard]] double level(double now_s) const;
  // Seconds until `n` are available (0 if now); until full if n > capacity.
  [[nodiscard]] double wait_s(double n, double now_s) const;
  [[nodiscard]] double capacity() const { return capacity_; }

 private:
  void refill(double now_s);
  double rate_ = 0, capacity_ = 0, level_ = 0, last_s_ = 0;
};

// What a limit check says, with OpenAI's header values.
struct LimitDecision {
  bool allowed = true;
  const char* exceeded = "";      // "requests" or "tokens" when refused
  double retry_after_s = 0;       // when the refused reservation would fit
  double limit_requests = 0, remaining_requests = 0, reset_requests_s = 0;
  double limit_tokens = 0, remaining_tokens = 0, reset_tokens_s = 0;
};

// "1s", "6m0s", "250ms": OpenAI's x-ratelimit-reset-* format.
[[nodiscard]] std::string reset_header(double seconds);

// In-memory limits per key (an API key, a tenant). Thread-safe.
class LocalLimiter {
 public:
  LimitDecision reserve(std::string_view key, const RateLimits& limits, double tokens, double now_s);
  void reconcile(std::string_view key, const RateLimits& limits, double reserved_tokens, double used_tokens,
                 double now_s);
  // Undoes a reservation that was admitted here but refused elsewhere (another limit).
  void cancel(std::string_view key, const RateLimits& limits, double reserved_tokens, double now_s);

 private:
  struct Buckets {
    TokenBucket requests, tokens;
  };
  Buckets& buckets(std::string_view key, const RateLimits& limits, double now_s);
  std::mutex mu_;
  std::unordered_map<std::string, Buckets> by_key_;
};

}  // namespace tidal::admission
