// The `scaling:` section, shared by `tidal serve` (per pool) and `tidal simulate`.
// `metrics` and `behavior` take the shape of a Kubernetes HorizontalPodAutoscaler v2
// spec, so an HPA's own YAML can be pasted in; tidal's policies sit beside them.
//
//   scaling:
//     policy: [hpa, kpa]          # one name or a list: the max of their recommendations
//     minReplicas: 1
//     maxReplicas: 8
//     metrics:
//     - type: External
//       external: {metric: {name: concurrency}, target: {type: AverageValue, averageValue: 8}}
//     behavior:
//       scaleDown: {stabilizationWindowSeconds: 60}
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/error.h"
#include "scaling/forecaster.h"

namespace YAML {
class Node;
}

namespace tidal::scaling {

// Where a metric's value comes from, as in the HPA's MetricSpec.type: Resource and Pods
// are per replica (averaged over replicas with a sample); Object and External are one
// value for the pool.
enum class MetricSource : uint8_t { kResource, kPods, kObject, kExternal };
enum class TargetType : uint8_t { kUtilization, kAverageValue, kValue };

// Per replica: cpu (%, of the CPU request), memory (bytes), kv_usage (0..1),
//   engine_waiting (requests), in_flight (requests).
// Per pool: queue_depth, concurrency (in flight + queued), requests_per_second,
//   tokens_per_second (prompt + output), ttft_p95 (ms), e2e_p95 (ms).
struct MetricSpec {
  MetricSource source = MetricSource::kExternal;
  std::string name;
  TargetType target = TargetType::kAverageValue;
  double value = 0;  // averageUtilization (%), averageValue or value; REQUIRES: > 0
};

// HPAScalingRules: a stabilization window and rate-limiting policies.
struct ScalingRules {
  enum class Select : uint8_t { kMax, kMin, kDisabled };
  struct RatePolicy {
    bool percent = false;  // Percent (of the replicas at the period's start) or Pods
    int value = 1;         // REQUIRES: > 0
    double period_s = 15;  // REQUIRES: 0 < period <= 1800
  };
  std::optional<double> stabilization_window_s;  // unset: see BehaviorConfig
  Select select = Select::kMax;
  std::vector<RatePolicy> policies;
};

// HPA defaults (Kubernetes API defaulting): up — no stabilization, max of +100% and +4
// pods per 15 s; down — 300 s stabilization, up to -100% per 15 s. The threshold and
// static policies keep their own pace (a cooldown), so with them alone an unset
// scale-down window is 0.
struct BehaviorConfig {
  ScalingRules scale_up{std::nullopt, ScalingRules::Select::kMax, {{true, 100, 15}, {false, 4, 15}}};
  ScalingRules scale_down{std::nullopt, ScalingRules::Select::kMax, {{true, 100, 15}}};
};

// Knative's KPA: stable and panic windows over a concurrency (or rps) signal.
struct KpaConfig {
  std::string metric = "concurrency";  // concurrency | requests_per_second
  double target = 8;                   // per replica; REQUIRES: > 0
  double target_utilization = 0.7;     // of target, 0 < u <= 1
  double stable_window_s = 60;
  double panic_window_pct = 10;        // panic window = stable window * pct / 100
  double panic_threshold = 2.0;        // panic when panic-window demand >= this x ready
  double max_scale_up_rate = 1000;     // at most ready x this per decision
  double max_scale_down_rate = 2;      // at least ready / this per decision
};

// Predictive: Holt-Winters forecast of the arrival rate, one lead time ahead.
struct PredictiveConfig {
  double lead_s = 90;            // how far ahead to provision: cold start + a tick
  double rps_per_replica = 0;    // REQUIRES: > 0 (simulate: 0 = its measured replica capacity)
  ForecastConfig forecast;
  std::string history_file;      // serve: SQLite file the learned forecast state persists in; empty: none
};

// SLO-driven: replicas needed to keep P95 TTFT and TPOT under targets at the observed
// arrival rate and request sizes, from the step-time model fitted online (StepFit) with
// `prior` as the starting point, corrected by observed / predicted latency.
struct SloConfig {
  double ttft_p95_ms = 2000;    // REQUIRES: > 0
  double tpot_ms = 100;         // REQUIRES: > 0
  std::string prior;            // engine preset of the prior; empty: llama3-8b-h100 (simulate: its preset)
  uint32_t max_batch = 0;       // sequences per replica; 0: the prior's max_num_seqs (serve: the pool's max_in_flight if set)
  double headroom = 0.85;       // plan for this share of the computed capacity, 0 < h <= 1 (queueing, bursts)
  double backlog_drain_s = 10;  // queued requests are planned to be served within this
  bool calibrate = true;        // false: use the prior as is (no fit, no correction)
};

// Minimum capacity by time of day and week, in a time zone (IANA name, DST aware).
struct ScheduleWindow {
  std::string name;             // e.g. peak, shoulder, night
  std::vector<int> days;        // 0 = Monday .. 6 = Sunday; empty: every day
  int start_min = 0, end_min = 0;  // minutes after local midnight; end <= start wraps past midnight
  int min_replicas = 0;
};
struct ScheduleConfig {
  std::string timezone = "UTC";
  std::vector<ScheduleWindow> windows;
};

// The kubernetes actuator: the controller sets the replicas of a Deployment through its
// scale subresource and learns the replicas from the EndpointSlices of a Service.
struct KubernetesConfig {
  std::string kubeconfig;        // path; empty: $KUBECONFIG, else the in-cluster service account
  std::string ns;                // namespace (`namespace:`); empty: the kubeconfig context's, else "default"
  std::string deployment;        // REQUIRES: non-empty with actuator kubernetes
  std::string service;           // REQUIRES: non-empty with actuator kubernetes
  std::string port;              // EndpointSlice port name or number; empty: the slice's first port
  double sync_interval_s = 1;    // how often the EndpointSlices are listed
};

// Extra signals from a Prometheus server: each query's result (an instant vector, its
// values summed, or a scalar) becomes a pool metric of that name for the hpa policy's
// Object/External metrics. Queried every tick; a failed or empty query is missing.
struct PrometheusSource {
  std::string url;                              // e.g. http://prometheus:9090
  std::map<std::string, std::string> queries;   // metric name -> PromQL
  double timeout_s = 2;
};

// The classic baseline: one step up over a threshold, one down when idle, a cooldown.
struct ThresholdConfig {
  double queue_high = 10;        // requests waiting in the gateway
  double ttft_high_ms = 2000;    // p95 TTFT over the last window; 0 disables
  double utilization_low = 0.3;  // scale down below this with an empty queue
  double cooldown_s = 300;       // no change within this long after the last one
};

struct ScalingConfig {
  std::vector<std::string> policies{"static"};  // one of known_policies() (simulate adds static_peak, static_mean, oracle)
  int min_replicas = 1;          // REQUIRES: >= 0; 0 enables scale to zero
  double scale_to_zero_after_s = 300;  // with minReplicas 0: idle (no arrival, nothing in flight) this long
  int max_replicas = 8;          // REQUIRES: >= max(1, min)
  int replicas = 2;              // static: the fixed size
  double interval_s = 1;         // controller tick
  double tolerance = 0.1;        // HPA: no change while |1 - usage/target| <= this
  double window_s = 6;           // short load window (rates, percentiles)
  double concurrency_window_s = 2;  // the concurrency metric is averaged over this (at least one tick)
  std::vector<MetricSpec> metrics;
  BehaviorConfig behavior;
  KpaConfig kpa;
  PredictiveConfig predictive;
  SloConfig slo;
  ScheduleConfig schedule;
  ThresholdConfig threshold;
  std::string actuator = "local";  // serve: local (engine processes) | kubernetes (a Deployment) | dry-run (decide and log only)
  KubernetesConfig kubernetes;
  PrometheusSource prometheus;
  double drain_timeout_s = 120;  // a draining replica is stopped after this even if busy
  double ready_timeout_s = 300;  // a replica not ready by then is replaced

  [[nodiscard]] bool has(std::string_view policy) const;
};

// tidal's recommended policy: the HPA algorithm on two signals, concurrency (in flight
// + queued) at 24 per replica and P95 TTFT at 1.5 s (under a 2 s SLO), grown at once
// (+100% or +4 per 5 s), shrunk by at most half per 30 s after 60 s of lower
// recommendations, 1..8 replicas, a 1 s tick. examples/serve/autoscale.yaml and
// examples/sim/tidal.yaml spell it out; docs/scaling-results.md compares it.
[[nodiscard]] ScalingConfig recommended_config();

// Reads a `scaling:` mapping (`where` prefixes key names in errors, e.g.
// "pools[0].scaling"); throws config::KeyError on unknown keys or wrong types.
void read_scaling(const YAML::Node& node, const std::string& where, ScalingConfig& out);
// Cross-field checks; the error's param is the dotted key, its message the reason.
[[nodiscard]] Result<bool> validate(const ScalingConfig& c, const std::string& where);

// Policy sections (kpa, predictive, slo, schedule): read and checked in policy_config.cpp.
void read_policy_sections(const YAML::Node& node, const std::string& where, ScalingConfig& out);
[[nodiscard]] Result<bool> validate_policy_sections(const ScalingConfig& c, const std::string& where);

// "static, threshold, hpa, kpa, predictive, slo, schedule"
[[nodiscard]] const std::vector<std::string_view>& known_policies();
[[nodiscard]] std::string known_policy_list();

[[nodiscard]] bool is_pool_metric(std::string_view name);
// Policies that need the simulator's knowledge of the workload (static_peak, static_mean, oracle).
[[nodiscard]] bool is_simulator_policy(std::string_view name);
[[nodiscard]] bool is_replica_metric(std::string_view name);

}  // namespace tidal::scaling
