#include "scaling/control_loop.h"

#include <algorithm>
#include <unordered_set>
#include <fmt/format.h>

namespace tidal::scaling {

bool ControlLoop::on_idle(uint32_t id, double now_s) {
  const Member* m = ledger_.find(id);
  if (!m || m->phase != Phase::kDraining) return false;
  actuator_.stop(id);
  ledger_.set_phase(id, Phase::kGone, now_s);
  return true;
}

void ControlLoop::begin_drain(uint32_t id, double now_s) {
  if (ledger_.set_phase(id, Phase::kDraining, now_s)) actuator_.drain(id);
}

void ControlLoop::remove(uint32_t id, double now_s, TickReport& r) {
  actuator_.stop(id);
  ledger_.set_phase(id, Phase::kGone, now_s);
  r.removed.push_back(id);
}

void ControlLoop::fill_fleet(Signals& s) const {
  s.ready = ledger_.count(Phase::kReady);
  s.starting = ledger_.count(Phase::kStarting);
  s.draining = ledger_.count(Phase::kDraining);
  std::vector<ReplicaSample> kept;
  kept.reserve(ledger_.members().size());
  std::unordered_set<uint32_t> sampled;
  for (auto& r : s.replicas) {
    const Member* m = ledger_.find(r.id);
    if (!m || m->phase == Phase::kDraining || !sampled.insert(r.id).second) continue;
    r.ready = m->phase == Phase::kReady;
    kept.push_back(std::move(r));
  }
  // Members the caller sent no sample for still count (with no metrics).
  for (const auto& m : ledger_.members()) {
    if (m.phase == Phase::kDraining || sampled.count(m.id)) continue;
    kept.push_back(ReplicaSample{m.id, m.phase == Phase::kReady, m.in_flight, {}, {}, {}, {}});
  }
  s.replicas = std::move(kept);
}

TickReport ControlLoop::tick(Signals s, bool actuate) {
  TickReport r;
  const double now = s.now_s;
  const auto& cfg = autoscaler_->config();
  if (actuate) {
    for (uint32_t id : ledger_.drained(now, cfg.drain_timeout_s)) remove(id, now, r);
    for (uint32_t id : ledger_.overdue(now, cfg.ready_timeout_s)) {
      r.notes.push_back(fmt::format("replica {} not ready after {:.0f} s: replaced", id, cfg.ready_timeout_s));
      remove(id, now, r);
    }
  }
  fill_fleet(s);
  r.decision = autoscaler_->decide(s);
  const Decision& d = r.decision;
  if (d.desired == d.current) return r;
  r.plan = ledger_.plan(d.desired);
  if (!actuate) return r;
  int started = 0;
  for (int i = 0; i < r.plan.start; ++i) {
    auto id = actuator_.start();
    if (!id) {
      r.notes.push_back("start failed: " + id.error().message);
      break;
    }
    ledger_.add(*id, now, Phase::kStarting);
    r.started.push_back(*id);
    ++started;
  }
  for (uint32_t id : r.plan.cancel) remove(id, now, r);
  for (uint32_t id : r.plan.drain) {
    begin_drain(id, now);
    const Member* m = ledger_.find(id);
    if (m && m->in_flight <= 0 && on_idle(id, now)) r.removed.push_back(id);
  }
  const int achieved = d.current + started - static_cast<int>(r.plan.cancel.size() + r.plan.drain.size());
  if (achieved != d.current) autoscaler_->scaled(now, d.current, achieved);
  return r;
}

}  // namespace tidal::scaling
