// The simulator's per-replica and per-request state (data only; sim::Simulation in
// runner.cpp drives it).
#pragma once

#include <algorithm>
#include <cstdint>
#include <memory>
#include <vector>

#include "engine/model/engine_model.h"
#include "routing/replica_stats.h"

namespace tidal::sim::detail {

// The data plane's view of a replica (what routing reads); the life cycle decisions
// (which to start, drain, cancel, replace) are the shared scaling::ControlLoop's.
enum class State : uint8_t { kStarting, kReady, kDraining, kGone };
enum class Work : uint8_t { kIdle, kStep, kStretch };

struct Replica {
  uint32_t id = 0;
  State state = State::kStarting;
  bool spot = false;
  double created_s = 0, end_s = -1;
  std::unique_ptr<engine::EngineModel> model;
  uint32_t in_flight = 0;
  routing::ReplicaStats stats;  // what routing keeps about requests sent here (as in the gateway)
  uint64_t version = 0;  // bumps invalidate scheduled work events
  Work work = Work::kIdle;
  double work_start = 0;
  uint32_t stretch_k = 0;
  double stretch_f = 1;
  std::vector<engine::TokenEvent> step_events;
  // The router's copy of this replica's view: its index in the router's views (ready
  // replicas only), and whether it changed since it was filled.
  uint32_t view_slot = UINT32_MAX;
  bool view_dirty = false;
  // CPU, as the simulator models it: the engine loop's busy share of one core (a vLLM
  // or llama.cpp server process spins one core while it steps, idles otherwise).
  double busy_total_s = 0, busy_since_s = -1;
  double cpu_mark_busy_s = 0, cpu_mark_s = -1;

  void set_busy(bool busy, double now) {
    if (busy && busy_since_s < 0) busy_since_s = now;
    if (!busy && busy_since_s >= 0) {
      busy_total_s += now - busy_since_s;
      busy_since_s = -1;
    }
  }
  // % of one core busy since the previous call (since creation at the first).
  double cpu_pct(double now) {
    const double busy = busy_total_s + (busy_since_s >= 0 ? now - busy_since_s : 0);
    const double since = cpu_mark_s >= 0 ? cpu_mark_s : created_s;
    const double pct = now > since ? 100 * (busy - cpu_mark_busy_s) / (now - since) : 0;
    cpu_mark_busy_s = busy;
    cpu_mark_s = now;
    return pct;
  }
};

// Seconds `r` has existed (billed) up to `t`.
inline double lifetime(const Replica& r, double t) {
  return std::max(0.0, (r.end_s >= 0 ? std::min(r.end_s, t) : t) - r.created_s);
}

struct Live {
  double arrival_s = 0;
  uint32_t output_tokens = 0;
  uint32_t input_tokens = 0;
  uint32_t dispatch_in_flight = 0;  // on its replica when routed, itself included (calibration samples)
  double deadline_s = 0;  // while queued
  double first_token_s = -1;
  double routed_s = 0;
  routing::Ticket ticket;  // its routing bookkeeping on `replica`
  int replica = -1;
  uint32_t cls = 0;       // traffic class index (SimConfig::traffic)
  uint32_t tier = 0;      // admission tier index
  uint64_t tenant = 0;    // fairness key
  bool queued = false;
  bool done = false;
};

}  // namespace tidal::sim::detail
