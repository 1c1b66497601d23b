#include "admission/wait_queue.h"

#include <cmath>

#include "common/check.h"

namespace tidal::admission {

const char* reason_name(Refusal r) {
  switch (r) {
    case Refusal::kNone: return "none";
    case Refusal::kQueueFull: return "queue_full";
    case Refusal::kEvicted: return "shed";
    case Refusal::kDeadline: return "deadline";
  }
  return "none";
}

WaitQueue::WaitQueue(AdmissionConfig config, uint32_t max_total)
    : config_(std::move(config)), max_total_(max_total) {
  if (config_.tiers.empty()) config_ = single_tier(max_total, 30);
  tiers_.resize(config_.tiers.size());
}

double WaitQueue::counter(const Tier& tier, uint64_t tenant) {
  auto it = tier.counters.find(tenant);
  return it == tier.counters.end() ? 0.0 : it->second;
}

double WaitQueue::deadline_s(uint32_t tier, double now_s) const {
  return now_s + config_.tiers[tier].max_queue_wait_s;
}

double WaitQueue::effective_rank(const Waiter& w, double now_s) const {
  const double aging_s = config_.tiers[w.tier].aging_s;
  if (aging_s <= 0) return w.tier;
  const double risen = std::floor(std::max(0.0, now_s - w.enqueued_s) / aging_s);
  return std::max(0.0, w.tier - risen);
}

PushResult WaitQueue::push(const Waiter& w) {
  TIDAL_CHECK(w.tier < tiers_.size());
  TIDAL_CHECK(!entries_.count(w.id));
  PushResult r;
  if (tiers_[w.tier].by_seq.size() >= config_.tiers[w.tier].max_queue) {
    r.refusal = Refusal::kQueueFull;
    return r;
  }
  if (entries_.size() >= max_total_) {
    // Make room with the newest waiter of the lowest tier below the newcomer's.
    for (uint32_t t = static_cast<uint32_t>(tiers_.size()); t-- > w.tier + 1;) {
      if (tiers_[t].by_seq.empty()) continue;
      const uint64_t victim = std::prev(tiers_[t].by_seq.end())->second;
      erase(entries_.find(victim));
      r.evicted = victim;
      break;
    }
    if (!r.evicted) {
      r.refusal = Refusal::kQueueFull;
      return r;
    }
  }
  const TierConfig& tc = config_.tiers[w.tier];
  double key = w.enqueued_s;
  if (tc.order == Order::kEdf) {
    key = w.ttft_deadline_s > 0 ? w.ttft_deadline_s
                                : w.enqueued_s + (tc.ttft_target_ms > 0 ? tc.ttft_target_ms / 1000 : tc.max_queue_wait_s);
  }
  Tier& tier = tiers_[w.tier];
  auto [tq, joined] = tier.waiting.try_emplace(w.tenant);
  if (joined && config_.fair && tier.waiting.size() > 1) {
    // VTC: a tenant joining the backlog starts no lower than the least backlogged counter.
    double least = INFINITY;
    for (const auto& [tenant, q] : tier.waiting) {
      if (tenant != w.tenant) least = std::min(least, counter(tier, tenant));
    }
    double& mine = tier.counters[w.tenant];
    mine = std::max(mine, least);
  }
  const uint64_t seq = seq_++;
  tq->second.order.emplace(key, seq, w.id);
  tier.by_seq.emplace(seq, w.id);
  entries_.emplace(w.id, Entry{w, seq, key});
  return r;
}

void WaitQueue::erase(std::unordered_map<uint64_t, Entry>::iterator it) {
  const Entry& e = it->second;
  Tier& tier = tiers_[e.w.tier];
  auto tq = tier.waiting.find(e.w.tenant);
  tq->second.order.erase(Key{e.key, e.seq, e.w.id});
  if (tq->second.order.empty()) tier.waiting.erase(tq);
  tier.by_seq.erase(e.seq);
  entries_.erase(it);
}

bool WaitQueue::remove(uint64_t id) {
  auto it = entries_.find(id);
  if (it == entries_.end()) return false;
  erase(it);
  return true;
}

void WaitQueue::charge(uint32_t tier, uint64_t tenant, double tokens) {
  TIDAL_CHECK(tier < tiers_.size());
  double& c = tiers_[tier].counters[tenant];
  c = std::max(0.0, c + tokens);
  double& s = served_[tenant];
  s = std::max(0.0, s + tokens);
}

std::optional<double> WaitQueue::oldest_enqueued_s() const {
  std::optional<double> out;
  for (const Tier& t : tiers_) {
    if (t.by_seq.empty()) continue;
    const double e = entries_.at(t.by_seq.begin()->second).w.enqueued_s;
    if (!out || e < *out) out = e;
  }
  return out;
}

double WaitQueue::jain_index() const {
  double sum = 0, sum_sq = 0;
  size_t n = 0;
  for (const auto& [tenant, s] : served_) {
    sum += s;
    sum_sq += s * s;
    ++n;
  }
  if (n < 2 || sum_sq <= 0) return 1.0;
  return sum * sum / (static_cast<double>(n) * sum_sq);
}

}  // namespace tidal::admission
