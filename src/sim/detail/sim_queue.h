// The simulated gateway's admission queue: the gateway's own order (admission::WaitQueue:
// tiers, aging, tenant fairness, deadlines, eviction) driven on the virtual clock, plus
// the drain loop that hands waiters to free replicas in that order.
#pragma once

#include <cstdint>

#include "admission/wait_queue.h"

namespace tidal::sim::detail {

class SimQueue {
 public:
  SimQueue(const admission::AdmissionConfig& config, uint32_t max_queue) : order_(config, max_queue) {}

  admission::WaitQueue& order() { return order_; }
  [[nodiscard]] size_t size() const { return order_.size(); }

  // Routes waiters, best first, while `route(id)` places them (it must not touch the
  // queue; a placed waiter is removed here). Routing can complete other requests, which
  // drain again: a nested call only asks this one for another pass.
  template <class Route>
  void drain(double now_s, Route&& route) {
    if (draining_) {
      again_ = true;
      return;
    }
    draining_ = true;
    do {
      again_ = false;
      // Every simulated waiter can take any free slot of the pool (no exclusions): when
      // the best cannot be placed, only a waiter of a higher tier might (a reservation
      // or aging put a lower tier first).
      uint32_t below = UINT32_MAX;
      while (auto id = order_.best(now_s, [](uint64_t) { return true; }, below)) {
        if (route(*id)) {
          order_.remove(*id);
          below = UINT32_MAX;
        } else {
          below = order_.tier_of(*id);
        }
      }
    } while (again_);
    draining_ = false;
  }

 private:
  admission::WaitQueue order_;
  bool draining_ = false, again_ = false;
};

}  // namespace tidal::sim::detail
