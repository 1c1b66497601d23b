#include "scaling/autoscaler.h"

#include <algorithm>

namespace tidal::scaling {

Result<std::unique_ptr<Autoscaler>> Autoscaler::create(const ScalingConfig& config) { return create(config, {}); }

Result<std::unique_ptr<Autoscaler>> Autoscaler::create(const ScalingConfig& config,
                                                       std::vector<std::unique_ptr<ScalingPolicy>> extra) {
  ScalingConfig named = config;
  if (!extra.empty() && named.policies.empty()) named.policies = {"static"};  // validated, then dropped
  if (auto ok = validate(named, "scaling"); !ok) {
    return make_error(ErrorKind::kInvalidRequest, ok.error().param + ": " + ok.error().message, ok.error().param);
  }
  std::vector<std::unique_ptr<ScalingPolicy>> policies;
  for (const auto& name : config.policies) {
    auto p = make_scaling_policy(name, config);
    if (!p) return p.error();
    policies.push_back(std::move(*p));
  }
  for (auto& p : extra) policies.push_back(std::move(p));
  return std::unique_ptr<Autoscaler>(new Autoscaler(config, std::move(policies)));
}

std::string Autoscaler::policy_names() const {
  std::string s;
  for (const auto& p : policies_) s.append(s.empty() ? "" : "+").append(p->name());
  return s;
}

Decision Autoscaler::decide(const Signals& s) {
  Decision d;
  d.t_s = s.now_s;
  d.current = s.current();
  d.ready = s.ready;
  d.starting = s.starting;
  d.draining = s.draining;
  d.queue_depth = s.queue_depth;
  d.in_flight = s.in_flight;
  d.rps = s.rps;
  d.ttft_p95_ms = s.ttft_p95_ms;
  bool hold_down = false;
  for (const auto& p : policies_) {
    Recommendation r = p->recommend(s);
    hold_down = hold_down || r.hold_down;
    if (d.votes.empty() || r.replicas > d.recommended) {
      d.recommended = r.replicas;
      d.policy = std::string(p->name());
      d.reason = r.reason;
    }
    d.votes.push_back({std::string(p->name()), r.replicas, std::move(r.reason)});
  }
  if (hold_down && d.recommended < d.current) {
    d.recommended = d.current;
    d.reason += "; a signal is missing: no scale-down";
  }
  // As the HPA: outside the bounds, go straight to them; inside, apply behavior.
  const int lo = config_.min_replicas, hi = config_.max_replicas;
  if (d.current > hi) {
    d.desired = hi;
    d.reason = "above maxReplicas";
  } else if (d.current < lo) {
    d.desired = lo;
    d.reason = "below minReplicas";
  } else {
    const Normalized n = behavior_.normalize(s.now_s, d.current, d.recommended);
    d.desired = n.replicas;
    if (!n.limit.empty()) d.reason += "; " + n.limit;
  }
  // To zero only after a whole idle period; from zero as soon as anything waits.
  if (d.desired == 0 && d.current > 0 && s.idle_s < config_.scale_to_zero_after_s) {
    d.desired = 1;
    d.reason += "; not idle for scale_to_zero_after_s yet";
  }
  if (d.current == 0 && d.desired == 0 && s.queue_depth + s.in_flight > 0) {
    d.desired = 1;
    d.reason = "requests wait at zero replicas: scale from zero";
  }
  last_ = d;
  has_last_ = true;
  if (d.desired != d.current) {
    history_.push_back(d);
    if (history_.size() > kHistory) history_.pop_front();
  }
  return d;
}

}  // namespace tidal::scaling
