// The `admission:` section, owned here: the queue's tiers (strict priority with aging,
// a wait deadline and a length bound each, FCFS or earliest-deadline-first order) and
// fairness between tenants. The gateway and the simulator both read it with this.
//
//   admission:
//     default_tier: free          # requests with no key tier and no x-tidal-priority
//     fairness: vtc               # vtc (tokens served per tenant) | none (arrival order)
//     tiers:                      # highest priority first
//       - {name: critical, max_queue_wait_s: 5, max_queue: 1000, hedge: true}
//       - {name: paid, max_queue_wait_s: 15, aging_s: 10, reserved_slots: 4}
//       - {name: free, max_queue_wait_s: 30, aging_s: 10, order: edf, ttft_target_ms: 2000}
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"

namespace YAML {
class Node;
}

namespace tidal::admission {

enum class Order { kFcfs, kEdf };

struct TierConfig {
  std::string name;
  double max_queue_wait_s = 30;   // past it a waiter gets 503 (reason deadline); REQUIRES > 0
  uint32_t max_queue = 10'000;    // waiters of this tier; more are refused (queue_full)
  double aging_s = 0;             // a waiter rises one tier per aging_s waited; 0 = never
  Order order = Order::kFcfs;     // within a tenant: arrival order, or earliest TTFT deadline
  double ttft_target_ms = 0;      // edf: deadline = arrival + this, unless x-tidal-ttft-ms says; 0 = max wait
  uint32_t reserved_slots = 0;    // free slots of the pool lower tiers may not take (admission/reserve.h)
  // Gateway only: no first token after hedge_delay_ms → a second copy goes to another
  // replica; the first to answer wins, the other is cancelled (counts against the retry budget).
  bool hedge = false;
  double hedge_delay_ms = 0;      // 0: the pool's recent p95 TTFT
};

struct AdmissionConfig {
  std::vector<TierConfig> tiers;  // highest first; empty: one tier "default" from the pool's queue limits
  std::string default_tier;       // empty: the lowest tier
  bool fair = true;               // vtc: within a tier the tenant with least tokens served goes first

  // Index of the tier called `name`, or -1.
  [[nodiscard]] int tier_index(std::string_view name) const;
  // The tier of requests that name none.
  [[nodiscard]] uint32_t default_index() const;
};

// One tier "default" with the pool's old single-queue limits (max_queue, queue_timeout_s).
[[nodiscard]] AdmissionConfig single_tier(uint32_t max_queue, double max_wait_s);

// Reads an `admission:` mapping into `out`. Throws config::KeyError naming the dotted key.
void read_admission(const YAML::Node& node, const std::string& where, AdmissionConfig& out);
// Cross-field rules (unique names, positive waits, default tier exists); param is the dotted key.
[[nodiscard]] Result<bool> validate(const AdmissionConfig& c, const std::string& where);

}  // namespace tidal::admission
