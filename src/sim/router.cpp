#include "sim/detail/sim_router.h"

#include <algorithm>

namespace tidal::sim::detail {
namespace {

TimePoint at(double s) { return TimePoint{} + from_s(s); }

}  // namespace

Result<std::unique_ptr<SimRouter>> SimRouter::create(const routing::RoutingConfig& config, uint64_t seed) {
  std::unique_ptr<SimRouter> r(new SimRouter(config));
  auto policy = routing::make_policy(r->config_, r->shared_, seed);
  if (!policy) return policy.error();
  r->policy_ = std::move(*policy);
  return r;
}

routing::RequestInfo SimRouter::info_of(const SimRequest& req) {
  routing::RequestInfo info;
  info.prompt_tokens = req.input_tokens;
  info.max_tokens = req.output_tokens;
  info.prefix = req.prefix;
  return info;
}

namespace {

routing::ReplicaView view_of(const Replica& r, uint32_t max_in_flight) {
  routing::ReplicaView v;
  v.id = r.id;
  v.in_flight = r.in_flight;
  v.max_in_flight = max_in_flight;
  v.routable = true;
  // A scrape is instantaneous here: engine figures are always fresh.
  v.engine_waiting = static_cast<uint32_t>(r.model->num_waiting());
  v.engine_running = static_cast<uint32_t>(r.model->num_running());
  v.kv_usage = r.model->kv_usage();
  v.in_flight_at_scrape = r.in_flight;
  v.kv_capacity_tokens = r.model->preset().kv_capacity_tokens;
  r.stats.fill(v);
  return v;
}

}  // namespace

std::optional<uint32_t> SimRouter::pick(const SimRequest& req, const std::vector<Replica*>& replicas,
                                        uint32_t max_in_flight, double now_s) {
  if (rebuild_) {
    for (Replica* r : ready_) r->view_slot = UINT32_MAX;  // gone ones included
    views_.clear();
    ready_.clear();
    for (Replica* r : replicas) {
      if (r->state != State::kReady) continue;
      r->view_slot = static_cast<uint32_t>(views_.size());
      views_.push_back(view_of(*r, max_in_flight));
      ready_.push_back(r);
    }
    rebuild_ = false;
  } else {
    for (Replica* r : dirty_) {
      if (r->view_slot != UINT32_MAX) views_[r->view_slot] = view_of(*r, max_in_flight);
    }
  }
  for (Replica* r : dirty_) r->view_dirty = false;
  dirty_.clear();
  return policy_->pick(info_of(req), views_, at(now_s));
}

void SimRouter::dispatch(Replica& r, Live& l, const SimRequest& req, double now_s) {
  touch(r);
  const routing::RequestInfo info = info_of(req);
  l.ticket = routing::dispatched(r.stats, info, policy_->on_dispatch(r.id, info));
  l.routed_s = now_s;
}

void SimRouter::first_token(Replica& r, Live& l, uint32_t cached_tokens) {
  if (l.ticket.first_token) return;
  touch(r);
  routing::first_token(r.stats, l.ticket);
  routing::observed_usage(r.stats, l.ticket, l.input_tokens, cached_tokens);
  predicted_ += std::min(l.ticket.predicted_cached, l.input_tokens);
  observed_ += std::min(cached_tokens, l.input_tokens);
  prompt_ += l.input_tokens;
}

void SimRouter::finish(Replica& r, Live& l, bool ok, double now_s) {
  touch(r);
  routing::Outcome o;
  o.kind = ok ? routing::OutcomeKind::kOk : routing::OutcomeKind::kReset;
  o.output_tokens = l.output_tokens;
  o.ttft = from_s(std::max(0.0, l.first_token_s - l.routed_s));
  o.e2e = from_s(std::max(0.0, now_s - l.routed_s));
  routing::finished(r.stats, l.ticket, o, at(now_s), config_.half_life_s);
  policy_->on_complete(r.id, o, at(now_s));
}

}  // namespace tidal::sim::detail
