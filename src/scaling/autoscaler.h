// The decision half of the controller, shared by `tidal serve` and `tidal simulate`:
// every enabled policy recommends, the max wins (a missing signal forbids shrinking),
// then the HPA behavior (stabilization, rate limits) and min/max bound it. Each
// decision keeps its reasons and numbers in a bounded history (GET /admin/scaling).
//
//   auto a = Autoscaler::create(config);
//   Decision d = (*a)->decide(signals);   // d.desired: ready + starting wanted now
//   if (d.desired != d.current) { actuate...; (*a)->scaled(now, d.current, d.desired); }
#pragma once

#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "common/error.h"
#include "scaling/behavior.h"
#include "scaling/config.h"
#include "scaling/policy.h"

namespace tidal::scaling {

struct PolicyVote {
  std::string policy;
  int replicas = 0;
  std::string reason;
};

struct Decision {
  double t_s = 0;
  int current = 0;       // ready + starting before the decision
  int recommended = 0;   // max over the policies (before behavior)
  int desired = 0;       // after behavior and bounds
  std::string policy;    // the policy that drove the recommendation
  std::string reason;    // its reason, then behavior's limit if it cut in
  std::vector<PolicyVote> votes;
  // The signals it saw, for the record.
  int ready = 0, starting = 0, draining = 0;
  double queue_depth = 0, in_flight = 0, rps = 0, ttft_p95_ms = 0;
};

class Autoscaler {
 public:
  static Result<std::unique_ptr<Autoscaler>> create(const ScalingConfig& config);
  // With policies built by the caller (the simulator's oracle), after the named ones.
  static Result<std::unique_ptr<Autoscaler>> create(const ScalingConfig& config,
                                                    std::vector<std::unique_ptr<ScalingPolicy>> extra);

  [[nodiscard]] Decision decide(const Signals& s);
  // A decision was carried out (the change counts against behavior's rate policies).
  void scaled(double now_s, int from, int to) { behavior_.record_scale(now_s, from, to); }

  // Recent decisions, oldest first: every change, and the latest tick.
  [[nodiscard]] const std::deque<Decision>& history() const { return history_; }
  [[nodiscard]] const Decision* last() const { return has_last_ ? &last_ : nullptr; }
  [[nodiscard]] const ScalingConfig& config() const { return config_; }
  [[nodiscard]] std::string policy_names() const;
  [[nodiscard]] const std::vector<std::unique_ptr<ScalingPolicy>>& policies() const { return policies_; }

 private:
  Autoscaler(ScalingConfig c, std::vector<std::unique_ptr<ScalingPolicy>> p)
      : config_(std::move(c)), policies_(std::move(p)),
        behavior_(config_.behavior, config_.min_replicas, config_.max_replicas,
                  config_.has("hpa") || config_.has("kpa") ? 300 : 0) {}

  static constexpr size_t kHistory = 512;
  ScalingConfig config_;
  std::vector<std::unique_ptr<ScalingPolicy>> policies_;
  Behavior behavior_;
  std::deque<Decision> history_;
  Decision last_;
  bool has_last_ = false;
};

[[nodiscard]] Result<std::unique_ptr<ScalingPolicy>> make_scaling_policy(const std::string& name,
                                                                         const ScalingConfig& config);

}  // namespace tidal::scaling
