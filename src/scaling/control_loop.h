// The controller: tick → collect (the caller's Signals) → recommend → behavior →
// actuate, over the shared replica life cycle (FleetLedger). One implementation:
// `tidal serve` ticks it on the real clock with a process (or Kubernetes) actuator,
// `tidal simulate` on the virtual clock with simulated replicas. No clock, no I/O of
// its own: the actuator does the work, the caller logs what tick() returns.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "common/error.h"
#include "scaling/autoscaler.h"
#include "scaling/fleet_ledger.h"

namespace tidal::scaling {

// Does what the controller decides, on real processes or simulated replicas.
class Actuator {
 public:
  virtual ~Actuator() = default;
  // Starts one replica (it begins in Phase::kStarting); returns its id.
  virtual Result<uint32_t> start() = 0;
  // The replica takes no new requests; it finishes what it has.
  virtual void drain(uint32_t id) = 0;
  // The replica goes now: a cancelled start, a finished drain, a replacement.
  virtual void stop(uint32_t id) = 0;
};

struct TickReport {
  Decision decision;
  ScalePlan plan;                       // what was actuated for the decision
  std::vector<uint32_t> started;        // ids of new replicas (also replacements)
  std::vector<uint32_t> removed;        // drained, cancelled or replaced replicas now gone
  std::vector<std::string> notes;       // replacements, start failures
};

class ControlLoop {
 public:
  ControlLoop(std::unique_ptr<Autoscaler> autoscaler, Actuator& actuator)
      : autoscaler_(std::move(autoscaler)), actuator_(actuator) {}

  // Registers a replica that exists already (a fleet provisioned before the first tick).
  void adopt(uint32_t id, double now_s, Phase phase) { ledger_.add(id, now_s, phase); }
  // Life-cycle events from the data plane (health checks, the process watcher, the
  // simulator's events). Unknown ids are ignored.
  void on_ready(uint32_t id, double now_s) { ledger_.set_phase(id, Phase::kReady, now_s); }
  void on_unready(uint32_t id, double now_s) { ledger_.set_phase(id, Phase::kStarting, now_s); }
  void on_load(uint32_t id, double in_flight, uint32_t unique_prefix_blocks = 0) {
    ledger_.set_load(id, in_flight, unique_prefix_blocks);
  }
  // A draining replica went idle: it stops now. Returns true if it was draining.
  bool on_idle(uint32_t id, double now_s);
  // The replica went away by itself (process exit, spot reclaim): forget it.
  void on_gone(uint32_t id, double now_s) { ledger_.set_phase(id, Phase::kGone, now_s); }
  // Outside the controller's decisions (a spot notice): drain it.
  void begin_drain(uint32_t id, double now_s);

  // One tick. `s` carries the load; the fleet counts and per-replica phases are filled
  // in from the ledger (so both callers count alike); `s.replicas` may hold samples of
  // any replica, those not ready or starting are dropped.
  // With `actuate` false (dry-run) it decides and reports the plan but changes nothing:
  // no start, drain or stop, no replacement, and the ledger stays as the caller keeps it.
  TickReport tick(Signals s, bool actuate = true);

  // The signals as tick() would pass them to the policies.
  void fill_fleet(Signals& s) const;

  [[nodiscard]] const FleetLedger& ledger() const { return ledger_; }
  [[nodiscard]] Autoscaler& autoscaler() { return *autoscaler_; }
  [[nodiscard]] const Autoscaler& autoscaler() const { return *autoscaler_; }

 private:
  void remove(uint32_t id, double now_s, TickReport& r);
  std::unique_ptr<Autoscaler> autoscaler_;
  Actuator& actuator_;
  FleetLedger ledger_;
};

}  // namespace tidal::scaling
