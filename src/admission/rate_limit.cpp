#include "admission/rate_limit.h"

#include <algorithm>
#include <cmath>

namespace tidal::admission {

void TokenBucket::refill(double now_s) {
  if (now_s > last_s_) {
    level_ = std::min(capacity_, level_ + (now_s - last_s_) * rate_);
    last_s_ = now_s;
  }
}

bool TokenBucket::take(double n, double now_s) {
  refill(now_s);
  if (level_ < n) return false;
  level_ -= n;
  return true;
}

void TokenBucket::adjust(double n, double now_s) {
  refill(now_s);
  level_ = std::min(capacity_, level_ + n);
}

double TokenBucket::level(double now_s) const {
  return now_s > last_s_ ? std::min(capacity_, level_ + (now_s - last_s_) * rate_) : level_;
}

double TokenBucket::wait_s(double n, double now_s) const {
  const double have = level(now_s);
  const double want = std::min(n, capacity_);
  if (have >= want || rate_ <= 0) return 0;
  return (want - have) / rate_;
}

std::string reset_header(double s) {
  if (s <= 0) return "0s";
  if (s < 1) return std::to_string(static_cast<int>(std::ceil(s * 1000))) + "ms";
  const auto total = static_cast<long>(std::ceil(s));
  std::string out;
  if (total >= 3600) out += std::to_string(total / 3600) + "h";
  if (total >= 60) out += std::to_string(total / 60 % 60) + "m";
  out += std::to_string(total % 60) + "s";
  return out;
}

LocalLimiter::Buckets& LocalLimiter::buckets(std::string_view key, const RateLimits& l, double now_s) {
  auto it = by_key_.find(std::string(key));
  if (it == by_key_.end()) {
    const double burst = std::max(l.burst, 1e-9);
    it = by_key_
             .emplace(std::string(key), Buckets{TokenBucket(l.requests_per_min, std::max(1.0, l.requests_per_min * burst), now_s),
                                                TokenBucket(l.tokens_per_min, l.tokens_per_min * burst, now_s)})
             .first;
  }
  return it->second;
}

LimitDecision LocalLimiter::reserve(std::string_view key, const RateLimits& l, double tokens, double now_s) {
  LimitDecision d;
  if (!l.any()) return d;
  std::lock_guard lock(mu_);
  Buckets& b = buckets(key, l, now_s);
  const bool req_ok = l.requests_per_min <= 0 || b.requests.level(now_s) >= 1;
  // A reservation larger than the whole bucket is admitted when the bucket is full (else it never could be).
  const double need = l.tokens_per_min > 0 ? std::min(tokens, b.tokens.capacity()) : 0;
  const bool tok_ok = l.tokens_per_min <= 0 || b.tokens.level(now_s) >= need;
  d.allowed = req_ok && tok_ok;
  if (d.allowed) {
    if (l.requests_per_min > 0) b.requests.take(1, now_s);
    if (l.tokens_per_min > 0) b.tokens.adjust(-tokens, now_s);
  } else {
    d.exceeded = req_ok ? "tokens" : "requests";
    d.retry_after_s = std::max(req_ok ? 0 : b.requests.wait_s(1, now_s), tok_ok ? 0 : b.tokens.wait_s(need, now_s));
  }
  if (l.requests_per_min > 0) {
    d.limit_requests = l.requests_per_min;
    d.remaining_requests = std::max(0.0, std::floor(b.requests.level(now_s)));
    d.reset_requests_s = b.requests.wait_s(b.requests.capacity(), now_s);
  }
  if (l.tokens_per_min > 0) {
    d.limit_tokens = l.tokens_per_min;
    d.remaining_tokens = std::max(0.0, std::floor(b.tokens.level(now_s)));
    d.reset_tokens_s = b.tokens.wait_s(b.tokens.capacity(), now_s);
  }
  return d;
}

void LocalLimiter::reconcile(std::string_view key, const RateLimits& l, double reserved, double used, double now_s) {
  if (l.tokens_per_min <= 0) return;
  std::lock_guard lock(mu_);
  buckets(key, l, now_s).tokens.adjust(reserved - used, now_s);
}

void LocalLimiter::cancel(std::string_view key, const RateLimits& l, double reserved, double now_s) {
  if (!l.any()) return;
  std::lock_guard lock(mu_);
  Buckets& b = buckets(key, l, now_s);
  if (l.requests_per_min > 0) b.requests.adjust(1, now_s);
  if (l.tokens_per_min > 0) b.tokens.adjust(reserved, now_s);
}

}  // namespace tidal::admission
