// What one simulation run measured.
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "common/stats/summary.h"

namespace tidal::sim {

struct SeriesPoint {
  double t_s = 0;
  double arrivals_rps = 0;
  int ready = 0, starting = 0, draining = 0;
  double queue_depth = 0;
  double ttft_p95_ms = 0;
  double cost_usd = 0;
};

struct ScaleEvent {
  double t_s = 0;
  int from = 0, to = 0;
  std::string reason;
};

// One traffic class's share of the run (traffic with more than one class).
struct ClassResult {
  uint64_t requests = 0, completed = 0, failed = 0, slo_met = 0;
  std::map<std::string, uint64_t> errors_by_kind;
  stats::Percentiles ttft_ms;
};

struct SimResult {
  std::string policy, workload;
  uint64_t seed = 0;
  double duration_s = 0;
  uint64_t requests = 0, completed = 0, failed = 0;
  std::map<std::string, uint64_t> errors_by_kind;
  // Client errors (a prompt over the context): refused, counted apart, and left out of
  // availability and SLO attainment, as SLOs do. requests = valid + invalid.
  uint64_t invalid = 0;
  std::map<std::string, uint64_t> invalid_by_kind;
  [[nodiscard]] uint64_t valid() const { return requests - invalid; }
  stats::Percentiles ttft_ms, e2e_ms;
  double slo_ttft_ms = 0, slo_e2e_ms = 0, slo_tpot_ms = 0;
  uint64_t slo_met = 0;  // completed within the TTFT, TPOT and e2e targets
  double cost_usd = 0, instance_hours = 0, gpu_hours = 0;
  double overprovisioning_pct = 0;
  double scale_up_latency_s = -1, scale_down_latency_s = -1;  // < 0: not applicable or never
  std::vector<ScaleEvent> scaling_events;
  double reversals_per_hour = 0;  // scale changes whose direction flips the previous one's
  int max_replicas = 0;
  double mean_replicas = 0;
  double capacity_rps_per_replica = 0;
  uint64_t events = 0;
  uint64_t spot_preemptions = 0;
  uint64_t retried_requests = 0;  // moved off preempted replicas
  // Prefix cache: prompt tokens of requests that started, those the engines found
  // cached, and those the router predicted cached.
  uint64_t prompt_tokens_served = 0, prefix_cached_tokens = 0, prefix_predicted_tokens = 0;
  std::vector<std::pair<std::string, ClassResult>> classes;  // per traffic class, in config order; empty with one
  double jain_index = 1;  // over tokens served per tenant (1 = equal)
  std::vector<SeriesPoint> series;
};

// Scale changes per hour whose direction differs from the previous change's.
[[nodiscard]] double reversals_per_hour(const std::vector<ScaleEvent>& events, double duration_s);

}  // namespace tidal::sim
