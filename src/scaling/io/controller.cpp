#include "scaling/io/controller.h"

#include <signal.h>

#include <algorithm>

#include "common/log.h"

namespace tidal::scaling {

Result<uint32_t> LocalActuator::start() {
  auto proc = procs_.spawn(cmd_.command, cmd_.args);
  if (!proc) return proc.error();
  auto id = hooks_.add(proc->url);
  if (!id) {
    procs_.terminate(proc->pid, std::chrono::milliseconds(0));
    return id.error();
  }
  by_id_[*id] = Proc{proc->pid, proc->url, {}};
  return *id;
}

void LocalActuator::drain(uint32_t id) { hooks_.drain(id); }

void LocalActuator::stop(uint32_t id) {
  auto it = by_id_.find(id);
  if (it == by_id_.end()) return;
  hooks_.retire(id, "stopped by the controller");
  procs_.terminate(it->second.pid, std::chrono::milliseconds(static_cast<int64_t>(cmd_.stop_grace_s * 1000)));
  by_id_.erase(it);
}

void LocalActuator::sync(ControlLoop& loop, double now_s) {
  for (const auto& e : procs_.reap()) {
    if (e.expected) continue;
    for (auto it = by_id_.begin(); it != by_id_.end(); ++it) {
      if (it->second.pid != e.pid) continue;
      logger("scaling")->warn("replica exited unexpectedly replica={} code={}: it will be replaced", it->first, e.code);
      hooks_.retire(it->first, "process exited with code " + std::to_string(e.code));
      loop.on_gone(it->first, now_s);
      by_id_.erase(it);
      break;
    }
  }
}

void LocalActuator::host_sample(uint32_t id, double now_s, ReplicaSample& out) {
  auto it = by_id_.find(id);
  if (it == by_id_.end()) return;
  out.cpu_pct = it->second.cpu.percent(it->second.pid, now_s);
  if (auto p = fleet::read_process(it->second.pid)) out.memory_bytes = p->rss_bytes;
}

std::string LocalActuator::url_of(uint32_t id) const {
  auto it = by_id_.find(id);
  return it == by_id_.end() ? std::string() : it->second.url;
}

Controller::Controller(std::string pool, ScalingConfig config, PoolHooks hooks, fleet::LocalReplicas& procs,
                       LocalCommand cmd)
    : Controller(std::move(pool), std::move(config), std::move(hooks),
                 [&procs, cmd = std::move(cmd)](PoolHooks& h) -> Result<std::unique_ptr<FleetActuator>> {
                   return std::unique_ptr<FleetActuator>(std::make_unique<LocalActuator>(procs, cmd, h));
                 }) {}

Controller::Controller(std::string pool, ScalingConfig config, PoolHooks hooks, ActuatorFactory make_actuator)
    : pool_(std::move(pool)), hooks_(std::move(hooks)), make_actuator_(std::move(make_actuator)),
      config_(std::move(config)),
      window_(config_.window_s, std::max(config_.concurrency_window_s, config_.interval_s)) {}

Controller::~Controller() { stop(); }

double Controller::now_s() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0_).count();
}

Result<bool> Controller::start(int initial) {
  auto autoscaler = Autoscaler::create(config_);
  if (!autoscaler) return autoscaler.error();
  auto actuator = make_actuator_(hooks_);
  if (!actuator) return actuator.error();
  {
    std::lock_guard lock(mu_);
    actuator_ = std::move(*actuator);
    loop_ = std::make_unique<ControlLoop>(std::move(*autoscaler), *actuator_);
    if (!config_.prometheus.queries.empty()) {
      auto prom = PromSource::create(config_.prometheus);
      if (!prom) return prom.error();
      prom_.emplace(std::move(*prom));
    }
    if (!config_.predictive.history_file.empty()) {  // what the policies learned before a restart
      auto store = MemoryStore::open(config_.predictive.history_file);
      if (!store) return store.error();
      memory_.emplace(std::move(*store));
      for (const auto& p : loop_->autoscaler().policies()) {
        auto text = memory_->load(pool_, std::string(p->name()));
        if (!text) continue;
        if (p->load_memory(*text)) {
          logger("scaling")->info("restored {} policy memory pool={} from={}", p->name(), pool_, memory_->path());
        } else {
          logger("scaling")->warn("ignored {} policy memory pool={} in {}: another version or season shape", p->name(),
                                  pool_, memory_->path());
        }
      }
    }
    // dry-run mirrors a fleet and kubernetes discovers the Deployment's pods: neither starts any.
    const bool owns = config_.actuator == "local";
    const int n = owns ? std::clamp(initial, config_.min_replicas, config_.max_replicas) : 0;
    for (int i = 0; i < n; ++i) {
      auto id = actuator_->start();
      if (!id) return id.error();
      loop_->adopt(*id, now_s(), Phase::kStarting);
    }
    logger("scaling")->info("controller started pool={} policy={} min={} max={} initial={} interval_s={}", pool_,
                            loop_->autoscaler().policy_names(), config_.min_replicas, config_.max_replicas, n,
                            config_.interval_s);
  }
  thread_ = std::thread([this] { run(); });
  return true;
}

void Controller::stop() {
  {
    std::lock_guard lock(run_mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  std::lock_guard lock(mu_);
  save_memory();
}

void Controller::save_memory() {
  if (!memory_ || !loop_) return;
  const double wall = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  for (const auto& p : loop_->autoscaler().policies()) {
    const std::string text = p->save_memory();
    if (text.empty()) continue;
    if (auto ok = memory_->save(pool_, std::string(p->name()), text, wall); !ok) {
      logger("scaling")->warn("could not save {} policy memory pool={}: {}", p->name(), pool_, ok.error().message);
    }
  }
}

void Controller::poke() {
  {
    std::lock_guard lock(run_mu_);
    poked_ = true;
  }
  cv_.notify_all();
}

void Controller::run() {
  const auto period = std::chrono::duration_cast<std::chrono::steady_clock::duration>(
      std::chrono::duration<double>(config_.interval_s));
  auto next = std::chrono::steady_clock::now() + period;
  std::unique_lock lock(run_mu_);
  while (true) {
    cv_.wait_until(lock, next, [this] { return stopping_ || poked_; });
    if (stopping_) break;
    const bool poked = poked_;
    poked_ = false;
    lock.unlock();
    try {
      tick(now_s());
    } catch (const std::exception& e) {
      logger("scaling")->error("controller tick failed pool={} error={}", pool_, e.what());
    }
    lock.lock();
    if (!poked) next += period;  // a poke is an extra tick; the schedule stays
    const auto now = std::chrono::steady_clock::now();
    if (next < now) next = now + period;  // missed ticks are skipped, not replayed
  }
}

void Controller::tick(double now) {
  std::lock_guard lock(mu_);
  auto log = logger("scaling");
  actuator_->sync(*loop_, now);
  Signals s;
  s.now_s = now;
  s.wall_s = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  if (hooks_.samples && config_.has("slo")) s.finished = hooks_.samples();
  if (prom_) {
    std::vector<std::string> errors;
    s.external = prom_->query_all(&errors);
    std::string joined;
    for (const auto& e : errors) joined.append(joined.empty() ? "" : "; ").append(e);
    if (joined != last_prom_errors_ && !joined.empty()) log->warn("prometheus pool={} {}", pool_, joined);
    last_prom_errors_ = joined;
  }
  s.queue_depth = hooks_.queue_depth();
  int ready = 0;
  const bool dry_run = config_.actuator == "dry-run";
  const auto statuses = hooks_.replicas();
  if (dry_run) {  // the fleet is someone else's: mirror it
    for (const auto& r : statuses) {
      if (r.state == fleet::ReplicaState::kGone) loop_->on_gone(r.id, now);
      else if (!loop_->ledger().find(r.id)) loop_->adopt(r.id, now, r.state == fleet::ReplicaState::kReady ? Phase::kReady : Phase::kStarting);
    }
  }
  for (const auto& r : statuses) {
    const Member* m = loop_->ledger().find(r.id);
    if (!m) continue;  // static replicas from the config are not the controller's
    if (r.state == fleet::ReplicaState::kReady && m->phase == Phase::kStarting) loop_->on_ready(r.id, now);
    if (r.state == fleet::ReplicaState::kEjected && m->phase == Phase::kReady) loop_->on_unready(r.id, now);
    loop_->on_load(r.id, r.in_flight);
    if (r.state == fleet::ReplicaState::kReady) {
      s.in_flight += r.in_flight;
      ++ready;
    }
    ReplicaSample sample;
    sample.id = r.id;
    sample.in_flight = r.in_flight;
    sample.kv_usage = r.kv_usage;
    sample.engine_waiting = r.engine_waiting;
    sample.slot_usage = r.slot_usage;
    actuator_->host_sample(r.id, now, sample);
    s.replicas.push_back(sample);
  }
  const double cap = hooks_.max_in_flight_per_replica ? hooks_.max_in_flight_per_replica : 256;
  s.utilization = ready > 0 ? s.in_flight / (ready * cap) : 1.0;
  window_.observe(now, hooks_.load(), s);
  TickReport r = loop_->tick(s, !dry_run);
  loop_->fill_fleet(s);
  last_signals_ = s;
  const Decision& d = r.decision;
  for (const auto& note : r.notes) log->warn("controller pool={} {}", pool_, note);
  // Dry-run repeats an unacted decision every tick: log it when it changes.
  const bool news = !dry_run || d.desired != last_logged_desired_;
  if (d.desired != d.current && news) {
    log->info(
        "scale{} pool={} from={} to={} policy={} reason=\"{}\" ready={} starting={} draining={} queue={} in_flight={} "
        "rps={:.1f} ttft_p95_ms={:.0f}",
        dry_run ? " (dry-run: not applied)" : "", pool_, d.current, d.desired, d.policy, d.reason, d.ready, d.starting,
        d.draining, d.queue_depth, d.in_flight, d.rps, d.ttft_p95_ms);
  }
  last_logged_desired_ = d.desired;
  if (memory_ && now - memory_saved_s_ >= 60) {
    save_memory();
    memory_saved_s_ = now;
  }
  if (hooks_.on_tick) hooks_.on_tick(r, s);
}

}  // namespace tidal::scaling
