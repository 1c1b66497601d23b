#include "sim/simulation.h"
#include "admission/reserve.h"
#include "sim/detail/fleet_meter.h"
#include "sim/detail/outcomes.h"
#include "sim/detail/sim_queue.h"
#include "sim/detail/sim_replica.h"

#include <algorithm>
#include <cmath>
#include <memory>
#include <unordered_map>

#include <boost/unordered/unordered_flat_map.hpp>

#include "common/check.h"
#include "common/clock.h"
#include "engine/model/engine_model.h"
#include "sim/event_queue.h"
#include "scaling/control_loop.h"
#include "scaling/load_window.h"

namespace tidal::sim {
namespace {

using detail::Live;
using detail::Replica;
using detail::State;
using detail::Work;

class Simulation final : public scaling::Actuator {
 public:
  Simulation(const SimConfig& c, Workload& w, uint64_t seed, RunOptions o, engine::EnginePreset preset, double capacity,
             std::unique_ptr<detail::SimRouter> router, std::unique_ptr<scaling::Autoscaler> autoscaler)
      : c_(c), w_(w), seed_(seed), o_(o), preset_(std::move(preset)), capacity_(capacity), router_(std::move(router)),
        loop_(std::move(autoscaler), *this), rng_(seed ^ 0xA5A5A5A5ULL), traffic_rng_(seed ^ 0x7472616666ULL),
        queue_(c.admission, c.max_queue), outcomes_(c),
        meter_(c, w, capacity, o.sample_interval_s), held_(c.admission.tiers.size(), 0),
        window_(std::max(c.scaling.window_s, c.scaling.interval_s),
                std::max(c.scaling.concurrency_window_s, c.scaling.interval_s)) {
    probe_ = std::make_unique<engine::EngineModel>(preset_, 0);
    cold_start_s_ = c.instance.cold_start_s >= 0 ? c.instance.cold_start_s : default_cold_start_s(c.instance.start_mode);
    for (const auto& tc : c.traffic) traffic_total_ += tc.share;
  }

  SimResult run() {
    // The initial fleet is up at t = 0 (it was provisioned before the run).
    const int initial = initial_size();
    for (int i = 0; i < initial; ++i) loop_.adopt(add_replica(0, /*ready_now=*/true).id, 0, scaling::Phase::kReady);
    if (auto r = w_.next()) schedule_arrival(std::move(*r));
    q_.push(c_.scaling.interval_s, EventKind::kTick);
    q_.push(o_.sample_interval_s, EventKind::kSample);
    const double horizon = w_.duration_s() + o_.drain_s;
    while (!q_.empty()) {
      Event e = q_.pop();
      if (e.t_s > horizon) break;
      now_ = e.t_s;
      ++result_.events;
      switch (e.kind) {
        case EventKind::kWorkDone: on_work_done(e.a, e.b); break;
        case EventKind::kReplicaReady: on_ready(e.a); break;
        case EventKind::kSpotNotice: on_spot_notice(e.a); break;
        case EventKind::kSpotGone: on_spot_gone(e.a); break;
        case EventKind::kArrival: on_arrival(); break;
        case EventKind::kQueueTimeout: on_queue_timeout(e.a); break;
        case EventKind::kTick: on_tick(); break;
        case EventKind::kSample: on_sample(); break;
      }
      if (arrivals_done_ && live_.empty() && now_ >= w_.duration_s()) break;
    }
    return finish();
  }

 private:
  // Static fleets start at their size; autoscaled ones at fleet.initial.
  int initial_size() const {
    const auto& sc = c_.scaling;
    const bool fixed = sc.policies.size() == 1 && sc.policies.front() == "static";
    int n = fixed ? sc.replicas : c_.initial_replicas;
    if (!fixed && n == kInitialAuto) {
      double peak = 0;
      for (double t = 0; t < 60; t += 1) peak = std::max(peak, w_.rate_at(t));
      n = static_cast<int>(std::ceil(peak / capacity_));
    }
    return std::clamp(n, sc.min_replicas, sc.max_replicas);
  }

  // ---- scaling::Actuator: the controller's hands on the simulated fleet ----
  Result<uint32_t> start() override { return add_replica(now_, /*ready_now=*/false).id; }
  void drain(uint32_t id) override {
    Replica& r = *replicas_[id];
    if (r.state == State::kStarting || r.state == State::kReady) r.state = State::kDraining;
    router_->fleet_changed();
  }
  // A drain that timed out stops the replica with its requests: they fail.
  void stop(uint32_t id) override {
    Replica& r = *replicas_[id];
    if (r.state == State::kGone) return;
    std::vector<uint64_t> victims;
    for (const auto& [rid, l] : live_) {
      if (!l.queued && l.replica == static_cast<int>(id)) victims.push_back(rid);
    }
    std::sort(victims.begin(), victims.end());
    for (uint64_t v : victims) drop(v, "drain_timeout");
    r.in_flight = 0;
    retire(r);
  }

  // ---- fleet ----
  Replica& add_replica(double now, bool ready_now) {
    auto r = std::make_unique<Replica>();
    r->id = static_cast<uint32_t>(replicas_.size());
    r->created_s = now;
    r->model = std::make_unique<engine::EngineModel>(preset_, seed_ * 1000003 + r->id,
                                                    engine::ModelOptions{.every_token = false});
    Replica& ref = *r;
    replicas_.push_back(std::move(r));
    live_replicas_.push_back(&ref);
    const auto& inst = c_.instance;
    if (inst.spot_fraction > 0 && rng_.uniform() < inst.spot_fraction) {
      ref.spot = true;
      if (inst.spot_preemptions_per_hour > 0) {
        q_.push(now + rng_.exponential(3600.0 / inst.spot_preemptions_per_hour), EventKind::kSpotNotice, ref.id);
      }
    }
    if (ready_now) {
      ref.state = State::kReady;
      if (router_) router_->fleet_changed();
    } else {
      ref.state = State::kStarting;
      q_.push(now + cold_start_s_, EventKind::kReplicaReady, ref.id);
    }
    return ref;
  }

  // A retired replica keeps only its billing record: its engine model (the KV cache is
  // megabytes) goes, or a fleet that churns for days holds every replica it ever had.
  void retire(Replica& r) {
    router_->removed(r.id);
    router_->fleet_changed();
    live_replicas_.erase(std::find(live_replicas_.begin(), live_replicas_.end(), &r));
    r.state = State::kGone;
    r.end_s = now_;
    ++r.version;
    r.model.reset();
    r.step_events.clear();
    r.step_events.shrink_to_fit();
  }


  void on_ready(uint64_t id) {
    Replica& r = *replicas_[id];
    if (r.state != State::kStarting) return;
    r.state = State::kReady;
    router_->fleet_changed();
    loop_.on_ready(r.id, now_);
    check_scale_latency();
    drain_queue();
  }

  // ---- spot instances: a notice, then the instance goes with whatever it still runs ----
  void on_spot_notice(uint64_t id) {
    Replica& r = *replicas_[id];
    if (r.state == State::kGone) return;
    ++result_.spot_preemptions;
    loop_.begin_drain(r.id, now_);  // no new requests; the controller sees capacity drop
    r.state = State::kDraining;
    router_->fleet_changed();
    if (r.in_flight == 0) {
      retire(r);
      loop_.on_gone(r.id, now_);
      return;
    }
    q_.push(now_ + c_.instance.spot_notice_s, EventKind::kSpotGone, id);
  }

  void on_spot_gone(uint64_t id) {
    Replica& r = *replicas_[id];
    if (r.state == State::kGone) return;
    std::vector<uint64_t> victims;
    for (const auto& [rid, l] : live_) {
      if (!l.queued && l.replica == static_cast<int>(id)) victims.push_back(rid);
    }
    std::sort(victims.begin(), victims.end());  // deterministic order
    for (auto it = victims.rbegin(); it != victims.rend(); ++it) {
      router_->finish(r, live_.at(*it), false, now_);
      --held_[live_.at(*it).tier];
      if (!c_.retry_preempted) {
        const uint32_t cls = live_.at(*it).cls;
        live_.erase(*it);
        fail("preempted", cls);
        continue;
      }
      // Back to the queue in its original place (its arrival); it restarts from its prompt.
      Live& l = live_.at(*it);
      l.replica = -1;
      l.first_token_s = -1;
      sizes_.emplace(*it, retry_sizes_.at(*it));
      ++result_.retried_requests;
      enqueue(*it);
    }
    r.in_flight = 0;
    retire(r);
    loop_.on_gone(r.id, now_);
    drain_queue();
  }

  // ---- replica work: steps around prefills, analytic stretches in pure decode ----
  void start_work(Replica& r) {
    router_->touch(r);
    ++r.version;
    r.set_busy(r.model->has_work(), now_);
    if (!r.model->has_work()) {
      r.work = Work::kIdle;
      return;
    }
    r.work_start = now_;
    const uint32_t k = r.model->pure_decode_steps();
    double end = 0;
    if (k >= 2) {
      r.work = Work::kStretch;
      r.stretch_k = k;
      r.stretch_f = r.model->draw_stretch_jitter(k);
      end = now_ + r.stretch_f * to_s(r.model->pure_decode_duration(k));
    } else {
      r.work = Work::kStep;
      step_.events.swap(r.step_events);  // the model fills the replica's buffer
      r.model->step(step_);
      step_.events.swap(r.step_events);
      end = now_ + to_s(step_.duration);
    }
    q_.push(end, EventKind::kWorkDone, r.id, r.version);
  }

  void deliver(Replica& r, const std::vector<engine::TokenEvent>& events) {
    for (const auto& ev : events) {
      auto it = live_.find(ev.id);
      if (it == live_.end()) continue;
      Live& l = it->second;
      if (ev.index == 0) {
        l.first_token_s = now_;
        router_->first_token(r, l, ev.cached_tokens);
        const double ttft = (now_ - l.arrival_s) * 1000;
        load_.ttft_ms.add(ttft);
        sample_ttft_.add(ttft);
      }
      if (ev.finished) complete(r, ev.id);
    }
  }

  // Delivering events completes requests, which routes queued ones, possibly to this
  // replica: the replica is idle (and the finished work committed) before anything is
  // delivered, and a nested route that started new work is not started twice.
  void on_work_done(uint64_t id, uint64_t version) {
    Replica& r = *replicas_[id];
    if (r.version != version) return;
    router_->touch(r);
    engine::DecodeStretch& done = take_buffer();
    if (r.work == Work::kStretch) {
      r.model->advance_decode(r.stretch_k, r.stretch_f, done);
    } else {
      done.events.swap(r.step_events);
      r.step_events.clear();
    }
    r.work = Work::kIdle;
    ++r.version;
    deliver(r, done.events);
    give_buffer();
    if (r.state != State::kGone && r.work == Work::kIdle) start_work(r);
  }

  // A request reaches a replica mid-stretch: commit the decode steps that started
  // before now; the replica's next step (with the newcomer) starts at that boundary.
  void interrupt(Replica& r) {
    if (r.work != Work::kStretch) return;
    router_->touch(r);
    const double elapsed = now_ - r.work_start;
    uint32_t k = 0;
    if (elapsed > 0) {
      const auto span = from_s(elapsed / r.stretch_f);
      k = std::min(r.stretch_k, std::max<uint32_t>(1, r.model->pure_decode_steps_covering(span)));
    }
    double boundary = r.work_start;
    engine::DecodeStretch& done = take_buffer();
    if (k > 0) {
      boundary += r.stretch_f * to_s(r.model->pure_decode_duration(k));
      r.model->advance_decode(k, r.stretch_f, done);
    }
    // An empty step that ends at the boundary; set before delivering (see on_work_done).
    ++r.version;
    r.work = Work::kStep;
    r.step_events.clear();
    q_.push(std::max(boundary, now_), EventKind::kWorkDone, r.id, r.version);
    deliver(r, done.events);
    give_buffer();
  }

  // Event buffers for deliveries, reused (delivering can nest: a completion routes a
  // queued request, which interrupts another replica's stretch). Stack discipline.
  engine::DecodeStretch& take_buffer() {
    if (buffers_used_ == buffers_.size()) buffers_.push_back(std::make_unique<engine::DecodeStretch>());
    engine::DecodeStretch& b = *buffers_[buffers_used_++];
    b.events.clear();
    return b;
  }
  void give_buffer() { --buffers_used_; }

  // ---- gateway ----
  void schedule_arrival(SimRequest r) {
    next_arrival_ = std::move(r);
    q_.push(next_arrival_.t_s, EventKind::kArrival);
  }

  void on_arrival() {
    SimRequest req = std::move(next_arrival_);
    if (auto n = w_.next()) schedule_arrival(std::move(*n)); else arrivals_done_ = true;
    const auto [cls, tenant] = draw_class();
    outcomes_.arrived(cls);
    ++load_.arrivals;
    load_.prompt_tokens += req.input_tokens;
    ++sample_arrivals_;
    if (!probe_->accepts(req.input_tokens, req.output_tokens)) {
      ++result_.invalid;
      ++result_.invalid_by_kind["context_length_exceeded"];
      return;
    }
    const uint64_t id = next_request_id_++;
    Live& l = live_.emplace(id, Live{now_, req.output_tokens, req.input_tokens}).first->second;
    l.cls = cls;
    l.tier = c_.traffic[cls].tier_index;
    l.tenant = tenant;
    sizes_.emplace(id, std::move(req));
    if (queue_.size() == 0 && try_route(id)) return;
    enqueue(id);
    // A higher tier may be placeable at once (a reserved slot, or lower tiers held back
    // by one), as a newcomer that is the gateway's best waiter tries at once.
    if (c_.admission.tiers.size() > 1) drain_queue();
  }

  // The traffic class of an arrival and its tenant; no draw with one class of one tenant.
  std::pair<uint32_t, uint64_t> draw_class() {
    const auto& classes = c_.traffic;
    if (classes.size() == 1 && classes.front().tenants == 1) return {0, 0};
    double x = traffic_rng_.uniform() * traffic_total_;
    size_t k = 0;
    while (k + 1 < classes.size() && x >= classes[k].share) x -= classes[k++].share;
    const uint64_t tenant = (static_cast<uint64_t>(k) << 32) | traffic_rng_.below(classes[k].tenants);
    return {static_cast<uint32_t>(k), tenant};
  }

  // Into the gateway's wait queue (admission::WaitQueue order), with its tier's deadline;
  // a full queue refuses it or evicts a lower tier's newest waiter.
  void enqueue(uint64_t id) {
    Live& l = live_.at(id);
    const auto r = queue_.order().push({.id = id, .tier = l.tier, .tenant = l.tenant, .enqueued_s = l.arrival_s});
    if (r.evicted) drop(*r.evicted, "shed");
    if (r.refusal != admission::Refusal::kNone) {
      drop(id, "queue_full");
      return;
    }
    l.queued = true;
    l.deadline_s = queue_.order().deadline_s(l.tier, now_);
    q_.push(l.deadline_s, EventKind::kQueueTimeout, id);
  }

  bool try_route(uint64_t id) {
    const SimRequest& s = sizes_.at(id);
    Live& l = live_.at(id);
    // Slots reserved for higher tiers (admission/reserve.h, as in the gateway).
    if (reserved_ && !admission::may_take_slot(c_.admission, l.tier, free_slots(), held_)) return false;
    auto pick = router_->pick(s, live_replicas_, c_.max_in_flight_per_replica, now_);
    if (!pick) return false;
    Replica& r = *replicas_[*pick];
    ++held_[l.tier];
    l.replica = static_cast<int>(r.id);
    l.queued = false;
    queue_.order().charge(l.tier, l.tenant, static_cast<double>(l.input_tokens) + l.output_tokens);
    router_->dispatch(r, l, s, now_);
    l.dispatch_in_flight = ++r.in_flight;
    interrupt(r);
    SimRequest moved = std::move(sizes_.at(id));
    sizes_.erase(id);
    if (c_.instance.spot_fraction > 0 && c_.retry_preempted) retry_sizes_.insert_or_assign(id, moved);
    r.model->submit(engine::SeqRequest{id, moved.input_tokens, moved.output_tokens, std::move(moved.prefix)});
    if (r.work == Work::kIdle) start_work(r);
    return true;
  }

  int64_t free_slots() const {
    if (c_.max_in_flight_per_replica == 0) return admission::kUnlimitedSlots;
    int64_t free = 0;
    for (const Replica* r : live_replicas_) {
      if (r->state == State::kReady) free += static_cast<int64_t>(c_.max_in_flight_per_replica) - r->in_flight;
    }
    return free;
  }

  void drain_queue() {
    queue_.drain(now_, [this](uint64_t id) { return try_route(id); });
  }

  void on_queue_timeout(uint64_t id) {
    auto it = live_.find(id);
    // A request queued twice (re-queued after a preemption) has a later deadline.
    if (it == live_.end() || !it->second.queued || now_ < it->second.deadline_s) return;
    drop(id, "queue_timeout");
  }

  void drop(uint64_t id, const char* kind) {
    auto it = live_.find(id);
    TIDAL_CHECK(it != live_.end());
    if (it->second.queued) queue_.order().remove(id);
    if (!it->second.queued && it->second.replica >= 0) {
      router_->finish(*replicas_[static_cast<size_t>(it->second.replica)], it->second, false, now_);
      --held_[it->second.tier];
    }
    const uint32_t cls = it->second.cls;
    live_.erase(it);
    sizes_.erase(id);
    retry_sizes_.erase(id);
    fail(kind, cls);
  }

  void fail(const char* kind, uint32_t cls) { outcomes_.failed(kind, cls); }

  void complete(Replica& r, uint64_t id) {
    retry_sizes_.erase(id);
    auto it = live_.find(id);
    router_->finish(r, it->second, true, now_);
    const Live l = it->second;
    live_.erase(it);
    const double ttft = (l.first_token_s - l.arrival_s) * 1000;
    const double e2e = (now_ - l.arrival_s) * 1000;
    load_.e2e_ms.add(e2e);
    load_.output_tokens += l.output_tokens;
    // TPOT: the mean gap between output tokens after the first.
    const double tpot = l.output_tokens > 1 ? (e2e - ttft) / (l.output_tokens - 1) : 0;
    if (l.output_tokens > 1) load_.tpot_ms.add(tpot);
    if (want_samples_) {
      finished_.push_back({l.input_tokens, l.output_tokens, ttft, tpot, (l.dispatch_in_flight + r.in_flight) / 2.0,
                           l.dispatch_in_flight == 1});
    }
    outcomes_.completed(l.cls, ttft, e2e, tpot, l.output_tokens);
    --r.in_flight;
    --held_[l.tier];
    if (r.state == State::kDraining && r.in_flight == 0 && !loop_.on_idle(r.id, now_)) retire(r);
    drain_queue();
  }

  // ---- controller: the shared scaling::ControlLoop, fed like the gateway feeds it ----
  scaling::Signals signals() {
    scaling::Signals s;
    s.now_s = now_;
    s.wall_s = c_.start_unix_s + now_;
    s.finished.swap(finished_);
    finished_.clear();
    s.queue_depth = static_cast<double>(queued_count());
    double in_flight = 0;
    int ready = 0;
    for (Replica* r : live_replicas_) {
      loop_.on_load(r->id, r->in_flight);
      if (r->state == State::kDraining) continue;
      if (r->state == State::kReady) {
        in_flight += r->in_flight;
        ++ready;
      }
      scaling::ReplicaSample sample;
      sample.id = r->id;
      sample.in_flight = r->in_flight;
      if (r->state == State::kReady) {  // an engine answers scrapes once it serves
        sample.kv_usage = r->model->kv_usage();
        sample.engine_waiting = static_cast<double>(r->model->num_waiting());
        sample.cpu_pct = r->cpu_pct(now_);
        sample.slot_usage = static_cast<double>(r->model->num_running()) / std::max(1u, preset_.max_num_seqs);
      }
      s.replicas.push_back(sample);
    }
    s.in_flight = in_flight;
    s.utilization = ready > 0 ? in_flight / (ready * static_cast<double>(std::max(1u, c_.max_in_flight_per_replica))) : 1.0;
    window_.observe(now_, load_, s);
    return s;
  }

  size_t queued_count() const { return queue_.size(); }

  void on_tick() {
    const scaling::TickReport t = loop_.tick(signals());
    const auto& d = t.decision;
    if (d.desired != d.current) result_.scaling_events.push_back({now_, d.current, d.desired, d.policy + ": " + d.reason});
    check_scale_latency();
    drain_queue();  // a replaced replica's requests may be queued again
    if (!(arrivals_done_ && live_.empty())) q_.push(now_ + c_.scaling.interval_s, EventKind::kTick);
  }

  void check_scale_latency() { meter_.check_scale_latency(live_replicas_, now_); }

  void on_sample() {
    meter_.sample(live_replicas_, replicas_, now_, sample_arrivals_ / o_.sample_interval_s, static_cast<double>(queued_count()),
                  sample_ttft_.quantile(0.95), result_);
    sample_arrivals_ = 0;
    sample_ttft_.clear();
    if (!(arrivals_done_ && live_.empty())) q_.push(now_ + o_.sample_interval_s, EventKind::kSample);
  }

  SimResult finish() {
    for (const auto& [id, l] : live_) fail(l.queued ? "queue_timeout" : "unfinished", l.cls);
    outcomes_.fill(result_);
    result_.jain_index = queue_.order().jain_index();
    result_.policy = c_.name;
    result_.workload = w_.description();
    result_.seed = seed_;
    result_.duration_s = now_;
    result_.slo_ttft_ms = c_.slo_ttft_ms;
    result_.slo_e2e_ms = c_.slo_e2e_ms;
    result_.slo_tpot_ms = c_.slo_tpot_ms;
    result_.reversals_per_hour = reversals_per_hour(result_.scaling_events, now_);
    meter_.fill(replicas_, now_, result_);
    result_.prompt_tokens_served = router_->prompt_tokens();
    result_.prefix_cached_tokens = router_->observed_cached();
    result_.prefix_predicted_tokens = router_->predicted_cached();
    return std::move(result_);
  }

  const SimConfig& c_;
  Workload& w_;
  uint64_t seed_;
  RunOptions o_;
  engine::EnginePreset preset_;
  double capacity_;
  std::unique_ptr<detail::SimRouter> router_;
  scaling::ControlLoop loop_;
  Rng rng_;
  std::unique_ptr<engine::EngineModel> probe_;  // answers accepts() for the fleet's preset
  double cold_start_s_ = 0;
  EventQueue q_;
  double now_ = 0;
  engine::Step step_;  // scratch for start_work
  std::vector<std::unique_ptr<engine::DecodeStretch>> buffers_;  // see take_buffer
  size_t buffers_used_ = 0;
  std::vector<std::unique_ptr<Replica>> replicas_;  // every replica ever started; index = id
  std::vector<Replica*> live_replicas_;             // those not gone, in id order (the router's view order)
  // Open addressing (no node per request). Inserting may move elements: references to
  // them are never held across an arrival, the only place that inserts.
  boost::unordered_flat_map<uint64_t, Live> live_;
  boost::unordered_flat_map<uint64_t, SimRequest> sizes_;  // until routed
  boost::unordered_flat_map<uint64_t, SimRequest> retry_sizes_;  // routed, kept to retry after a spot preemption
  Rng traffic_rng_;  // the traffic class and tenant of each arrival
  double traffic_total_ = 0;
  detail::SimQueue queue_;
  detail::Outcomes outcomes_;
  detail::FleetMeter meter_;
  std::vector<int64_t> held_;  // slots each tier holds (reserved capacity)
  const bool reserved_ = admission::any_reserved(c_.admission);
  SimRequest next_arrival_;
  bool arrivals_done_ = false;
  uint64_t next_request_id_ = 1;
  uint64_t sample_arrivals_ = 0;
  scaling::LoadCounters load_;
  const bool want_samples_ = c_.scaling.has("slo");  // the slo policy calibrates on finished requests
  std::vector<scaling::RequestSample> finished_;     // since the last tick
  scaling::LoadWindow window_;
  stats::Samples sample_ttft_;
  SimResult result_;
};

}  // namespace

SimResult simulate_deployment(const SimConfig& effective, Workload& workload, uint64_t seed, RunOptions options,
                              engine::EnginePreset preset, double capacity,
                              std::unique_ptr<detail::SimRouter> router,
                              std::unique_ptr<scaling::Autoscaler> autoscaler) {
  Simulation sim(effective, workload, seed, options, std::move(preset), capacity, std::move(router),
                 std::move(autoscaler));
  return sim.run();
}

}  // namespace tidal::sim
