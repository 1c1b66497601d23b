#include "sim/detail/fleet_meter.h"

#include <algorithm>
#include <cmath>

namespace tidal::sim::detail {

FleetMeter::FleetMeter(const SimConfig& c, const Workload& w, double capacity_rps, double sample_interval_s)
    : c_(c), w_(w), capacity_(capacity_rps), interval_s_(sample_interval_s) {
  for (const auto& ch : w.changes()) pending_changes_.push_back(ch);
}

int FleetMeter::count(const LiveReplicas& rs, State s) {
  int n = 0;
  for (const auto& r : rs) n += r->state == s ? 1 : 0;
  return n;
}

int FleetMeter::billed(const LiveReplicas& rs) {
  return count(rs, State::kStarting) + count(rs, State::kReady) + count(rs, State::kDraining);
}

int FleetMeter::needed(double rps) const { return std::max(1, static_cast<int>(std::ceil(rps / capacity_))); }

void FleetMeter::check_scale_latency(const LiveReplicas& rs, double now_s) {
  for (auto it = pending_changes_.begin(); it != pending_changes_.end();) {
    if (now_s < it->t_s) {
      ++it;
      continue;
    }
    const int need = needed(it->rps_after);
    const bool up = it->rps_after > it->rps_before;
    const bool met = up ? count(rs, State::kReady) >= need : billed(rs) <= need;
    if (met) {
      (up ? up_latencies_ : down_latencies_).add(now_s - it->t_s);
      it = pending_changes_.erase(it);
    } else {
      ++it;
    }
  }
}

void FleetMeter::sample(const LiveReplicas& rs, const Replicas& all, double now_s, double arrivals_rps,
                        double queue_depth, double ttft_p95_ms, SimResult& out) {
  SeriesPoint p;
  p.t_s = now_s;
  p.arrivals_rps = arrivals_rps;
  p.ready = count(rs, State::kReady);
  p.starting = count(rs, State::kStarting);
  p.draining = count(rs, State::kDraining);
  p.queue_depth = queue_depth;
  p.ttft_p95_ms = ttft_p95_ms;
  p.cost_usd = cost_until(all, now_s);
  out.series.push_back(p);
  // Over-provisioning against the load's expected rate over the interval.
  const int need = needed(w_.rate_at(now_s - interval_s_ / 2));
  const int have = billed(rs);
  over_ += std::max(0, have - need) * interval_s_;
  need_ += need * interval_s_;
  replica_time_ += have * interval_s_;
  sampled_time_ += interval_s_;
  out.max_replicas = std::max(out.max_replicas, have);
}

double FleetMeter::cost_until(const Replicas& rs, double t_s) const {
  double usd = 0;
  for (const auto& r : rs) {
    usd += lifetime(*r, t_s) / 3600 * (r->spot ? c_.instance.spot_price_per_hour : c_.instance.price_per_hour);
  }
  return usd;
}

void FleetMeter::fill(const Replicas& rs, double now_s, SimResult& out) const {
  double instance_s = 0;
  for (const auto& r : rs) instance_s += lifetime(*r, now_s);
  out.instance_hours = instance_s / 3600;
  out.gpu_hours = out.instance_hours * c_.instance.gpus;
  out.cost_usd = cost_until(rs, now_s);
  out.overprovisioning_pct = need_ > 0 ? 100 * over_ / need_ : 0;
  out.mean_replicas = sampled_time_ > 0 ? replica_time_ / sampled_time_ : 0;
  out.scale_up_latency_s = up_latencies_.empty() ? -1 : up_latencies_.mean();
  out.scale_down_latency_s = down_latencies_.empty() ? -1 : down_latencies_.mean();
  out.capacity_rps_per_replica = capacity_;
}

}  // namespace tidal::sim::detail
