#include "routing/replica_stats.h"

#include <algorithm>
#include <cmath>

namespace tidal::routing {
namespace {

constexpr double kFailurePenaltyMs = 1000;

int64_t ns(TimePoint t) { return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count(); }

double decay(double half_life_s, double elapsed_s) {
  return elapsed_s <= 0 ? 1.0 : std::exp(-elapsed_s * std::log(2.0) / half_life_s);
}

void sub(std::atomic<uint64_t>& a, uint64_t v) {
  if (v) a.fetch_sub(v, std::memory_order_relaxed);
}

}  // namespace

void ReplicaStats::fill(ReplicaView& v) const {
  v.tokens_in_flight = tokens_in_flight.load(std::memory_order_relaxed);
  v.prefill_pending = prefill_pending.load(std::memory_order_relaxed);
  v.latency_ms = latency_ms.load(std::memory_order_relaxed);
  const int64_t at = latency_at_ns.load(std::memory_order_relaxed);
  v.latency_at = at ? TimePoint{} + std::chrono::nanoseconds(at) : TimePoint{};
}

Ticket dispatched(ReplicaStats& s, const RequestInfo& req, uint32_t predicted_cached_tokens) {
  Ticket t;
  t.reserved = req.prompt_tokens + req.max_tokens;
  t.predicted_cached = std::min(predicted_cached_tokens, req.prompt_tokens);
  t.uncached = req.prompt_tokens - t.predicted_cached;
  s.tokens_in_flight.fetch_add(t.reserved, std::memory_order_relaxed);
  s.prefill_pending.fetch_add(t.uncached, std::memory_order_relaxed);
  return t;
}

void first_token(ReplicaStats& s, Ticket& t) {
  if (t.first_token) return;
  t.first_token = true;
  sub(s.prefill_pending, t.uncached);
}

void finished(ReplicaStats& s, Ticket& t, const Outcome& o, TimePoint now, double half_life_s) {
  first_token(s, t);
  sub(s.tokens_in_flight, t.reserved);
  t.reserved = 0;
  double sample = 0;
  switch (o.kind) {
    case OutcomeKind::kOk: sample = to_ms(o.e2e) / std::max<uint32_t>(1, o.output_tokens); break;
    case OutcomeKind::kServerError:
    case OutcomeKind::kTimeout:
    case OutcomeKind::kReset: sample = kFailurePenaltyMs; break;
    case OutcomeKind::kClientError:
    case OutcomeKind::kCancelled: return;
  }
  // Peak EWMA: a slower sample replaces the average at once; faster ones blend in with
  // a weight set by the time since the last sample. Two loops updating at the same
  // instant may lose one blend (benign: the next sample corrects it).
  const int64_t last = s.latency_at_ns.exchange(ns(now), std::memory_order_relaxed);
  const double w = last ? decay(half_life_s, static_cast<double>(ns(now) - last) / 1e9) : 0.0;
  double cur = s.latency_ms.load(std::memory_order_relaxed);
  const double next = sample > cur ? sample : cur * w + sample * (1 - w);
  s.latency_ms.store(next, std::memory_order_relaxed);
}

void observed_usage(ReplicaStats& s, const Ticket& t, uint32_t prompt_tokens, uint32_t cached_tokens) {
  s.usage_prompt.fetch_add(prompt_tokens, std::memory_order_relaxed);
  s.observed_cached.fetch_add(std::min(cached_tokens, prompt_tokens), std::memory_order_relaxed);
  s.predicted_cached.fetch_add(std::min(t.predicted_cached, prompt_tokens), std::memory_order_relaxed);
}

double decayed_latency_ms(const ReplicaView& v, TimePoint now, double half_life_s) {
  if (v.latency_at == TimePoint{}) return v.latency_ms;
  return v.latency_ms * decay(half_life_s, to_s(now - v.latency_at));
}

}  // namespace tidal::routing
