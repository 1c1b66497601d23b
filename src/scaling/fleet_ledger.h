// The replica life cycle, one implementation for `tidal serve` and `tidal simulate`:
// starting → ready → draining → gone (and ready → starting while a replica is
// ejected). It counts replicas for the controller, decides which ones a scale-down
// removes, and finds replicas that never became ready or finished draining. Pure.
#pragma once

#include <cstdint>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace tidal::scaling {

enum class Phase : uint8_t { kStarting, kReady, kDraining, kGone };
[[nodiscard]] std::string_view to_string(Phase p);

struct Member {
  uint32_t id = 0;
  Phase phase = Phase::kStarting;
  double created_s = 0;
  double phase_since_s = 0;
  double in_flight = 0;             // requests on it (the caller keeps this current)
  uint32_t unique_prefix_blocks = 0;  // cached prefix blocks no other replica holds
};

// What a scale change does to the fleet.
struct ScalePlan {
  int start = 0;                   // new replicas
  std::vector<uint32_t> cancel;    // starting replicas stopped before they serve
  std::vector<uint32_t> drain;     // ready replicas that take no new requests and stop when idle
};

class FleetLedger {
 public:
  void add(uint32_t id, double now_s, Phase phase = Phase::kStarting);
  // Moves a live member to `p` (gone is final; unknown ids are ignored). Returns
  // whether it changed.
  bool set_phase(uint32_t id, Phase p, double now_s);
  void set_load(uint32_t id, double in_flight, uint32_t unique_prefix_blocks = 0);

  [[nodiscard]] int count(Phase p) const;
  [[nodiscard]] int current() const { return count(Phase::kStarting) + count(Phase::kReady); }
  [[nodiscard]] const Member* find(uint32_t id) const;
  [[nodiscard]] const std::vector<Member>& members() const { return members_; }  // not gone

  // From `current()` to `desired`: cancel starting replicas first (newest first), then
  // drain the ready replicas whose loss costs least: fewest requests in flight, then
  // fewest prefix blocks cached nowhere else, then the newest.
  [[nodiscard]] ScalePlan plan(int desired) const;
  // Starting for longer than `ready_timeout_s` (never became ready, or ejected that long).
  [[nodiscard]] std::vector<uint32_t> overdue(double now_s, double ready_timeout_s) const;
  // Draining and idle, or draining for longer than `drain_timeout_s`.
  [[nodiscard]] std::vector<uint32_t> drained(double now_s, double drain_timeout_s) const;

 private:
  Member* find_mut(uint32_t id);
  void reindex();
  std::vector<Member> members_;
  std::unordered_map<uint32_t, size_t> index_;  // id -> position in members_
};

}  // namespace tidal::scaling
