// The order in which waiting requests get a free slot: pure code (no clock, no I/O),
// called by the gateway's AdmissionQueue under its lock and by the simulator.
//
// Tiers in strict priority, except that a waiter rises one tier per `aging_s` waited (so
// a low tier is never starved for ever); within a tier the tenant with the fewest
// tokens served goes first (virtual token counter, as in VTC: a tenant that joins the
// backlog is lifted to the least counter there, so idling banks no credit); within a
// tenant, arrival order or earliest TTFT deadline. A full queue evicts the newest
// waiter of the lowest tier below the newcomer's; otherwise the newcomer is refused.
//
//   WaitQueue q(config, /*max_total=*/10'000);
//   auto r = q.push({.id = 7, .tier = 1, .tenant = hash("acme"), .enqueued_s = now, ...});
//   if (auto id = q.best(now, [](uint64_t) { return true; })) { q.remove(*id); q.charge(...); }
#pragma once

#include <algorithm>
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <tuple>
#include <unordered_map>
#include <vector>

#include "admission/config.h"

namespace tidal::admission {

struct Waiter {
  uint64_t id = 0;            // unique among waiters
  uint32_t tier = 0;          // index into AdmissionConfig::tiers
  uint64_t tenant = 0;        // fairness key (e.g. a hash of the API key's tenant)
  double enqueued_s = 0;      // first arrival (a re-queued request keeps its place)
  double ttft_deadline_s = 0; // edf order key; 0 = enqueued_s + the tier's target
};

// Why a request was not admitted or left the queue without a slot.
enum class Refusal { kNone, kQueueFull, kEvicted, kDeadline };
[[nodiscard]] const char* reason_name(Refusal r);

struct PushResult {
  Refusal refusal = Refusal::kNone;     // kQueueFull: the newcomer was not queued
  std::optional<uint64_t> evicted;      // a lower-tier waiter that left to make room
};

class WaitQueue {
 public:
  WaitQueue(AdmissionConfig config, uint32_t max_total);

  PushResult push(const Waiter& w);
  // Removes a waiter (admitted, timed out, client gone); false if it was not queued.
  bool remove(uint64_t id);

  // The best waiter for which `eligible(id)` holds, in the order described above;
  // only tiers below `tier_limit` (indexes) are considered.
  template <class Eligible>
  [[nodiscard]] std::optional<uint64_t> best(double now_s, Eligible&& eligible, uint32_t tier_limit = UINT32_MAX) const {
    std::optional<uint64_t> out;
    std::tuple<double, uint32_t> out_rank{0, 0};
    for (uint32_t t = 0; t < tiers_.size() && t < tier_limit; ++t) {
      const Waiter* w = tier_best(t, eligible);
      if (!w) continue;
      const std::tuple<double, uint32_t> rank{effective_rank(*w, now_s), t};
      if (!out || rank < out_rank) {
        out = w->id;
        out_rank = rank;
      }
    }
    return out;
  }

  // The queue wait deadline of a waiter that enters tier `tier` at `now_s`.
  [[nodiscard]] double deadline_s(uint32_t tier, double now_s) const;
  // Tokens served to a tenant in a tier (prompt + output; negative to reconcile a reservation).
  void charge(uint32_t tier, uint64_t tenant, double tokens);
  // Jain's fairness index over tokens served per tenant (all tiers), 1 = equal; 1 with < 2 tenants.
  [[nodiscard]] double jain_index() const;

  [[nodiscard]] size_t size() const { return entries_.size(); }
  // When the longest-waiting waiter (of any tier) entered; nullopt when empty.
  [[nodiscard]] std::optional<double> oldest_enqueued_s() const;
  [[nodiscard]] size_t depth(uint32_t tier) const { return tiers_[tier].by_seq.size(); }
  [[nodiscard]] bool contains(uint64_t id) const { return entries_.count(id) != 0; }
  // REQUIRES: contains(id).
  [[nodiscard]] uint32_t tier_of(uint64_t id) const { return entries_.at(id).w.tier; }
  [[nodiscard]] const AdmissionConfig& config() const { return config_; }

 private:
  struct Entry {
    Waiter w;
    uint64_t seq;
    double key;
  };
  using Key = std::tuple<double, uint64_t, uint64_t>;  // (order key, seq, id)
  struct TenantQueue {
    std::set<Key> order;
  };
  struct Tier {
    std::map<uint64_t, uint64_t> by_seq;                 // seq → id, for evicting the newest
    std::unordered_map<uint64_t, TenantQueue> waiting;   // backlogged tenants only
    std::unordered_map<uint64_t, double> counters;       // virtual token counter per tenant
  };

  template <class Eligible>
  const Waiter* tier_best(uint32_t t, Eligible& eligible) const {
    const Tier& tier = tiers_[t];
    if (tier.by_seq.empty()) return nullptr;
    if (!config_.fair || tier.waiting.size() == 1) return first_eligible_of_tier(tier, eligible);
    // Tenants by counter (then id, for a deterministic order); the first with an eligible waiter.
    thread_local std::vector<std::pair<double, uint64_t>> tenants;
    tenants.clear();
    for (const auto& [tenant, q] : tier.waiting) tenants.emplace_back(counter(tier, tenant), tenant);
    std::sort(tenants.begin(), tenants.end());
    for (const auto& [c, tenant] : tenants) {
      for (const Key& k : tier.waiting.at(tenant).order) {
        if (eligible(std::get<2>(k))) return &entries_.at(std::get<2>(k)).w;
      }
    }
    return nullptr;
  }
  template <class Eligible>
  const Waiter* first_eligible_of_tier(const Tier& tier, Eligible& eligible) const {
    // Unfair (or one tenant): the tier's global order is by key across tenants.
    const Waiter* out = nullptr;
    Key out_key{};
    for (const auto& [tenant, q] : tier.waiting) {
      for (const Key& k : q.order) {
        if (out && !(k < out_key)) break;
        if (!eligible(std::get<2>(k))) continue;
        out = &entries_.at(std::get<2>(k)).w;
        out_key = k;
        break;
      }
    }
    return out;
  }
  [[nodiscard]] double effective_rank(const Waiter& w, double now_s) const;
  [[nodiscard]] static double counter(const Tier& tier, uint64_t tenant);
  void erase(std::unordered_map<uint64_t, Entry>::iterator it);

  AdmissionConfig config_;
  uint32_t max_total_;
  std::vector<Tier> tiers_;
  std::unordered_map<uint64_t, Entry> entries_;
  std::unordered_map<uint64_t, double> served_;  // tokens per tenant, all tiers (Jain index)
  uint64_t seq_ = 0;
};

}  // namespace tidal::admission
