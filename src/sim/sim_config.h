// One simulated deployment (a "policy file" for `tidal simulate -c`): the engine preset,
// the instance and its price and start mode, fleet bounds, gateway limits, routing and
// scaling policies, and the SLO the report scores against.
#pragma once

#include <string>

#include "admission/config.h"
#include "common/error.h"
#include "routing/policy.h"
#include "scaling/config.h"

namespace tidal::sim {

struct InstanceConfig {
  std::string type = "h100";
  double price_per_hour = 4.0;   // on-demand $/h
  uint32_t gpus = 1;
  std::string start_mode = "shared_volume";  // image_pull | baked_image | shared_volume | warm_pool
  double cold_start_s = -1;      // < 0: the start mode's default (docs/simulate.md)
  double spot_fraction = 0;      // share of new replicas started as spot instances, 0..1
  double spot_price_per_hour = 1.6;
  double spot_preemptions_per_hour = 0.05;  // per spot replica (Poisson)
  double spot_notice_s = 120;    // warning before the instance goes (AWS: 2 minutes)
};

// Who sends the simulated requests: each arrival draws a class by share, then one of
// its tenants uniformly. Default: one tenant in the default tier.
struct TrafficClass {
  std::string name;       // in the report; default: the tier's name
  std::string tier;       // an admission tier name; default: admission.default_tier
  double share = 1;       // relative weight; REQUIRES > 0
  uint32_t tenants = 1;   // distinct tenants (fairness keys) in the class; REQUIRES >= 1
  uint32_t tier_index = 0;  // resolved from `tier` when the config loads
};

inline scaling::ScalingConfig sim_scaling_defaults() {
  scaling::ScalingConfig c;
  c.min_replicas = 1;
  c.max_replicas = 100;
  c.interval_s = 15;
  c.ready_timeout_s = 1800;  // above every start mode's cold start (image_pull: 600 s)
  return c;
}

// fleet.initial: auto — the fleet the load at t = 0 needs (its first minute's peak rate
// over the measured replica capacity), as if it had run before the window.
inline constexpr int kInitialAuto = -1;

struct SimConfig {
  std::string name = "static";
  std::string preset = "llama3-8b-h100";
  InstanceConfig instance;
  int initial_replicas = 2;      // fleet.initial (or `auto`: kInitialAuto); fleet.min / fleet.max set scaling's bounds
  uint32_t max_in_flight_per_replica = 256;
  double queue_timeout_s = 30;
  uint32_t max_queue = 100'000;
  bool retry_preempted = true;   // requests on a preempted replica go back to the queue; else they fail
  routing::RoutingConfig routing;
  // The gateway's `admission:` section (src/admission/config.h); no tiers: one tier with
  // gateway.max_queue and gateway.queue_timeout_s (made so at load).
  admission::AdmissionConfig admission;
  std::vector<TrafficClass> traffic;
  // The `scaling:` section of `tidal serve` (src/scaling/config.h), plus two policies
  // of the simulator's own: static_peak / static_mean, a fixed size computed from the
  // workload's peak or mean rate and the replica capacity estimate. Defaults here:
  // bounds 1..100, a 15 s tick, a 30-minute ready timeout.
  scaling::ScalingConfig scaling = sim_scaling_defaults();
  double slo_ttft_ms = 2000;     // 0: not part of the SLO
  double slo_e2e_ms = 0;
  double slo_tpot_ms = 50;       // part of the SLO, and the per-replica capacity target
  // The calendar: Unix time of t = 0 (the schedule policy's clock), `start_time:` in the
  // file as "YYYY-MM-DDTHH:MM:SSZ". Default 2024-01-01T00:00:00Z, a Monday.
  double start_unix_s = 1704067200;
};

[[nodiscard]] double default_cold_start_s(const std::string& start_mode);
// Fills in the admission defaults (one tier from gateway.max_queue / queue_timeout_s,
// one traffic class in the default tier) and resolves traffic tiers; the error's param
// is the dotted key. Idempotent; load_sim_config calls it.
[[nodiscard]] Result<bool> resolve_admission(SimConfig& c);
[[nodiscard]] Result<SimConfig> load_sim_config(const std::string& path);
[[nodiscard]] Result<SimConfig> parse_sim_config(const std::string& yaml, const std::string& origin);

}  // namespace tidal::sim
