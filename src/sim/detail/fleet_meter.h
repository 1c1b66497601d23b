// The simulated fleet, measured: replicas by state, cost and instance time, over-
// provisioning against the load's expected rate, and how long the fleet took to follow
// each step in the load (scale-up / scale-down latency). Read-only on the replicas.
#pragma once

#include <memory>
#include <vector>

#include "common/stats/summary.h"
#include "sim/detail/sim_replica.h"
#include "sim/result.h"
#include "sim/sim_config.h"
#include "sim/workload.h"

namespace tidal::sim::detail {

using Replicas = std::vector<std::unique_ptr<Replica>>;  // all, gone ones included
using LiveReplicas = std::vector<Replica*>;             // those not gone

class FleetMeter {
 public:
  FleetMeter(const SimConfig& c, const Workload& w, double capacity_rps, double sample_interval_s);

  [[nodiscard]] static int count(const LiveReplicas& rs, State s);
  [[nodiscard]] static int billed(const LiveReplicas& rs);
  // Load steps whose target the fleet now meets get their latency recorded.
  void check_scale_latency(const LiveReplicas& rs, double now_s);
  // One sampling interval ending at `now_s`: a series point and the provisioning sums.
  void sample(const LiveReplicas& live, const Replicas& all, double now_s, double arrivals_rps, double queue_depth, double ttft_p95_ms,
              SimResult& out);
  [[nodiscard]] double cost_until(const Replicas& rs, double t_s) const;
  // Cost, instance and GPU hours, over-provisioning, mean replicas, scale latencies.
  void fill(const Replicas& rs, double now_s, SimResult& out) const;

 private:
  [[nodiscard]] int needed(double rps) const;

  const SimConfig& c_;
  const Workload& w_;
  double capacity_;
  double interval_s_;
  std::vector<LoadChange> pending_changes_;
  stats::Samples up_latencies_, down_latencies_;
  double over_ = 0, need_ = 0, replica_time_ = 0, sampled_time_ = 0;
};

}  // namespace tidal::sim::detail
