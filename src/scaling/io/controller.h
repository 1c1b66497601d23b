// The controller of one pool on the real clock: a thread that ticks the shared
// scaling::ControlLoop every `interval_s`, fed by the gateway's signals and acting on
// local engine processes (LocalActuator) — or, with `actuator: dry-run`, mirroring a
// fleet it does not own and only logging and exporting its decisions. The gateway is
// reached through PoolHooks, so this library does not depend on it.
//
//   Controller c("default", config, hooks, processes, {"tidal", "engine"}, {});
//   c.start(initial);   // spawns the initial fleet, then ticks
//   ...
//   c.stop();           // stops ticking (the processes are stopped by their owner)
#pragma once

#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "common/error.h"
#include "fleet/local_replicas.h"
#include "fleet/process_stats.h"
#include "fleet/registry.h"
#include "scaling/control_loop.h"
#include "scaling/io/memory_store.h"
#include "scaling/io/prom_source.h"
#include "scaling/load_window.h"

namespace tidal::scaling {

struct ReplicaStatus {
  uint32_t id = 0;
  fleet::ReplicaState state = fleet::ReplicaState::kStarting;
  double in_flight = 0;
  std::optional<double> kv_usage, engine_waiting, slot_usage;  // from a recent engine scrape, if any
};

// What the controller needs from the data plane (the gateway in `tidal serve`).
struct PoolHooks {
  std::function<LoadCounters()> load;                            // monotonic counters
  std::function<std::vector<RequestSample>()> samples;           // finished since the last call (slo policy)
  std::function<double()> queue_depth;
  std::function<std::vector<ReplicaStatus>()> replicas;          // of this pool
  std::function<Result<uint32_t>(const std::string& url)> add;   // registers a new replica (starting)
  std::function<void(uint32_t id)> drain;                        // no new requests
  std::function<void(uint32_t id, std::string_view reason)> retire;  // gone
  std::function<void(const TickReport&, const Signals&)> on_tick;   // metrics
  uint32_t max_in_flight_per_replica = 0;
};

struct LocalCommand {
  std::vector<std::string> command;  // e.g. {"/usr/bin/tidal", "engine"}; "--port N" is appended
  std::vector<std::string> args;
  double stop_grace_s = 10;
};

// An actuator of `tidal serve`: the ControlLoop's Actuator plus what the controller
// thread needs of the real fleet.
class FleetActuator : public Actuator {
 public:
  // Before each tick: brings the loop's ledger up to date with the real fleet
  // (replicas that appeared or vanished outside the controller's own actions).
  virtual void sync(ControlLoop& loop, double now_s) { (void)loop, (void)now_s; }
  // Host CPU and memory of a replica, where the actuator can see them.
  virtual void host_sample(uint32_t id, double now_s, ReplicaSample& out) { (void)id, (void)now_s, (void)out; }
  [[nodiscard]] virtual std::string url_of(uint32_t id) const = 0;
};

// Starts, drains and stops local replicas: the `local` actuator.
class LocalActuator final : public FleetActuator {
 public:
  LocalActuator(fleet::LocalReplicas& procs, LocalCommand cmd, PoolHooks& hooks)
      : procs_(procs), cmd_(std::move(cmd)), hooks_(hooks) {}
  Result<uint32_t> start() override;
  void drain(uint32_t id) override;
  void stop(uint32_t id) override;
  // Replicas whose process exited without being told to (crashed, killed) leave the
  // ledger; the next tick replaces them.
  void sync(ControlLoop& loop, double now_s) override;
  // CPU (% of one core since the last call) and resident memory of a replica's process.
  void host_sample(uint32_t id, double now_s, ReplicaSample& out) override;
  [[nodiscard]] std::string url_of(uint32_t id) const override;

 private:
  struct Proc {
    pid_t pid;
    std::string url;
    fleet::ProcessCpu cpu;
  };
  fleet::LocalReplicas& procs_;
  LocalCommand cmd_;
  PoolHooks& hooks_;
  std::unordered_map<uint32_t, Proc> by_id_;
};

// Builds the pool's actuator once the controller owns the hooks.
using ActuatorFactory = std::function<Result<std::unique_ptr<FleetActuator>>(PoolHooks& hooks)>;

class Controller {
 public:
  Controller(std::string pool, ScalingConfig config, PoolHooks hooks, fleet::LocalReplicas& procs, LocalCommand cmd);
  Controller(std::string pool, ScalingConfig config, PoolHooks hooks, ActuatorFactory make_actuator);
  ~Controller();
  Controller(const Controller&) = delete;
  Controller& operator=(const Controller&) = delete;

  // Spawns `initial` replicas and starts ticking. Errors: the autoscaler config, a
  // replica that cannot be spawned.
  Result<bool> start(int initial);
  void stop();
  // Ticks now instead of at the next interval (a request waits at zero replicas).
  void poke();
  // One tick at `now_s` (seconds on the controller's clock). The thread calls it.
  void tick(double now_s);
  // GET /admin/scaling: the policy, the fleet, the last decision and recent changes.
  [[nodiscard]] std::string admin_json() const;

 private:
  void run();
  [[nodiscard]] double now_s() const;
  void save_memory();  // REQUIRES: mu_ held

  std::string pool_;
  PoolHooks hooks_;
  ActuatorFactory make_actuator_;
  std::unique_ptr<FleetActuator> actuator_;
  std::unique_ptr<ControlLoop> loop_;
  ScalingConfig config_;
  LoadWindow window_;
  Signals last_signals_;
  int last_logged_desired_ = -1;
  std::optional<MemoryStore> memory_;  // predictive.history_file
  std::optional<PromSource> prom_;     // scaling.prometheus queries
  std::string last_prom_errors_;       // logged when they change
  double memory_saved_s_ = 0;
  std::chrono::steady_clock::time_point t0_ = std::chrono::steady_clock::now();

  mutable std::mutex mu_;  // loop_, last_signals_ (tick vs admin_json)
  std::mutex run_mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  bool poked_ = false;
  std::thread thread_;
};

}  // namespace tidal::scaling
