#include "scaling/fleet_ledger.h"

#include <algorithm>

namespace tidal::scaling {

std::string_view to_string(Phase p) {
  switch (p) {
    case Phase::kStarting: return "starting";
    case Phase::kReady: return "ready";
    case Phase::kDraining: return "draining";
    case Phase::kGone: return "gone";
  }
  return "unknown";
}

void FleetLedger::add(uint32_t id, double now_s, Phase phase) {
  if (find(id)) return;
  index_[id] = members_.size();
  members_.push_back(Member{id, phase, now_s, now_s, 0, 0});
}

void FleetLedger::reindex() {
  index_.clear();
  for (size_t i = 0; i < members_.size(); ++i) index_[members_[i].id] = i;
}

Member* FleetLedger::find_mut(uint32_t id) {
  auto it = index_.find(id);
  return it == index_.end() ? nullptr : &members_[it->second];
}

const Member* FleetLedger::find(uint32_t id) const {
  auto it = index_.find(id);
  return it == index_.end() ? nullptr : &members_[it->second];
}

bool FleetLedger::set_phase(uint32_t id, Phase p, double now_s) {
  Member* m = find_mut(id);
  if (!m || m->phase == p) return false;
  if (m->phase == Phase::kDraining && p != Phase::kGone) return false;  // a drain is not undone
  if (p == Phase::kGone) {
    members_.erase(members_.begin() + (m - members_.data()));
    reindex();
    return true;
  }
  m->phase = p;
  m->phase_since_s = now_s;
  return true;
}

void FleetLedger::set_load(uint32_t id, double in_flight, uint32_t unique_prefix_blocks) {
  if (Member* m = find_mut(id)) {
    m->in_flight = in_flight;
    m->unique_prefix_blocks = unique_prefix_blocks;
  }
}

int FleetLedger::count(Phase p) const {
  return static_cast<int>(std::count_if(members_.begin(), members_.end(), [p](const Member& m) { return m.phase == p; }));
}

ScalePlan FleetLedger::plan(int desired) const {
  ScalePlan out;
  const int current = this->current();
  if (desired > current) {
    out.start = desired - current;
    return out;
  }
  int excess = current - std::max(0, desired);
  for (auto it = members_.rbegin(); it != members_.rend() && excess > 0; ++it) {
    if (it->phase == Phase::kStarting) {
      out.cancel.push_back(it->id);
      --excess;
    }
  }
  std::vector<const Member*> ready;
  for (const auto& m : members_) {
    if (m.phase == Phase::kReady) ready.push_back(&m);
  }
  std::stable_sort(ready.begin(), ready.end(), [](const Member* a, const Member* b) {
    if (a->in_flight != b->in_flight) return a->in_flight < b->in_flight;
    if (a->unique_prefix_blocks != b->unique_prefix_blocks) return a->unique_prefix_blocks < b->unique_prefix_blocks;
    return a->created_s > b->created_s;
  });
  for (size_t i = 0; i < ready.size() && excess > 0; ++i, --excess) out.drain.push_back(ready[i]->id);
  return out;
}

std::vector<uint32_t> FleetLedger::overdue(double now_s, double ready_timeout_s) const {
  std::vector<uint32_t> out;
  for (const auto& m : members_) {
    if (m.phase == Phase::kStarting && now_s - m.phase_since_s > ready_timeout_s) out.push_back(m.id);
  }
  return out;
}

std::vector<uint32_t> FleetLedger::drained(double now_s, double drain_timeout_s) const {
  std::vector<uint32_t> out;
  for (const auto& m : members_) {
    if (m.phase == Phase::kDraining && (m.in_flight <= 0 || now_s - m.phase_since_s > drain_timeout_s)) out.push_back(m.id);
  }
  return out;
}

}  // namespace tidal::scaling
