// The simulator's routing: the same routing::RoutingPolicy objects and the same
// per-replica routing::ReplicaStats bookkeeping as the gateway (dispatch, first token,
// end), fed from simulated replicas. One instance per simulation (one event loop).
#pragma once

#include <memory>
#include <optional>
#include <vector>

#include "common/error.h"
#include "routing/policy.h"
#include "routing/replica_stats.h"
#include "sim/detail/sim_replica.h"
#include "sim/workload.h"

namespace tidal::sim::detail {

class SimRouter {
 public:
  static Result<std::unique_ptr<SimRouter>> create(const routing::RoutingConfig& config, uint64_t seed);

  // A ready replica with room for `req` (max_in_flight per replica), or nullopt.
  // `replicas`: those not gone, in id order. The views of the ready ones are kept
  // between picks: only those touched since are filled again (a pick costs the policy's
  // scan, not a fill per replica).
  std::optional<uint32_t> pick(const SimRequest& req, const std::vector<Replica*>& replicas,
                               uint32_t max_in_flight, double now_s);
  // `r`'s engine or in-flight count changed: its view is stale.
  void touch(Replica& r) {
    if (r.view_dirty) return;
    r.view_dirty = true;
    dirty_.push_back(&r);
  }
  // A replica became ready, or stopped being ready: the set of views is rebuilt.
  void fleet_changed() { rebuild_ = true; }
  // `req` now runs on `r` (call before its prefix is moved into the engine).
  void dispatch(Replica& r, Live& l, const SimRequest& req, double now_s);
  void first_token(Replica& r, Live& l, uint32_t cached_tokens);
  // It ended: completed (`ok`), or left the replica otherwise (dropped, preempted).
  void finish(Replica& r, Live& l, bool ok, double now_s);
  void removed(uint32_t id) { policy_->on_removed(id); }

  // Prompt tokens the router predicted cached vs the engines' reported hits, over
  // requests that got their first token.
  [[nodiscard]] uint64_t predicted_cached() const { return predicted_; }
  [[nodiscard]] uint64_t observed_cached() const { return observed_; }
  [[nodiscard]] uint64_t prompt_tokens() const { return prompt_; }

 private:
  SimRouter(const routing::RoutingConfig& config) : config_(config), shared_(config) {}
  static routing::RequestInfo info_of(const SimRequest& req);

  routing::RoutingConfig config_;
  routing::SharedState shared_;
  std::unique_ptr<routing::RoutingPolicy> policy_;
  std::vector<routing::ReplicaView> views_;  // the ready replicas', in id order
  std::vector<Replica*> ready_;              // whose views those are
  std::vector<Replica*> dirty_;
  bool rebuild_ = true;
  uint64_t predicted_ = 0, observed_ = 0, prompt_ = 0;
};

}  // namespace tidal::sim::detail
