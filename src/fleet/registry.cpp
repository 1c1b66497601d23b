#include "fleet/registry.h"

#include "common/check.h"
#include "common/hash.h"
#include "common/log.h"

namespace tidal::fleet {

std::string_view to_string(ReplicaState s) {
  switch (s) {
    case ReplicaState::kStarting: return "starting";
    case ReplicaState::kReady: return "ready";
    case ReplicaState::kDraining: return "draining";
    case ReplicaState::kEjected: return "ejected";
    case ReplicaState::kGone: return "gone";
  }
  return "unknown";
}

ReplicaId Registry::add(std::string pool, http::Url url, http::tcp::endpoint ep, uint32_t max_in_flight,
                        ReplicaState initial, ReplicaOptions options) {
  std::lock_guard lock(mu_);
  auto r = std::make_unique<Replica>();
  r->id = static_cast<ReplicaId>(owned_.size());
  r->pool = std::move(pool);
  r->url = std::move(url);
  r->host_line = "Host: " + r->url.authority() + "\r\n\r\n";
  r->endpoint = ep;
  r->max_in_flight = max_in_flight;
  r->options = options;
  r->state = initial;
  auto next = std::make_shared<ReplicaList>(*list_.load());
  next->push_back(r.get());
  owned_.push_back(std::move(r));
  list_.store(std::move(next), std::memory_order_release);
  return owned_.back()->id;
}

Replica& Registry::at(ReplicaId id) const {
  auto list = snapshot();
  TIDAL_CHECK(id < list->size());
  return *(*list)[id];
}

bool Registry::set_state(ReplicaId id, ReplicaState to, std::string_view reason) {
  Replica& r = at(id);
  const ReplicaState from = r.state.exchange(to);
  if (from == to) return false;
  logger("fleet")->info("replica state replica={} from={} to={} reason={}", r.name(), to_string(from), to_string(to),
                        reason);
  for (const auto& l : listeners_) l(r, from, to);
  return true;
}

uint64_t model_bits(std::string_view model) {
  const uint64_t h = fnv1a64(model);
  return (uint64_t{1} << (h & 63)) | (uint64_t{1} << ((h >> 6) & 63));
}

bool Registry::model_served(std::string_view pool, uint64_t model) const {
  bool any_ready = false;
  for (const Replica* r : *snapshot()) {
    if (r->pool != pool || r->state.load(std::memory_order_relaxed) != ReplicaState::kReady) continue;
    any_ready = true;
    if (may_serve(r->model_filter.load(std::memory_order_relaxed), model)) return true;
  }
  return !any_ready;
}

void Registry::views(std::string_view pool, std::vector<routing::ReplicaView>& out, uint64_t model) const {
  out.clear();
  auto list = snapshot();
  int64_t now_ns = 0;  // read only when a breaker is not closed
  for (const Replica* r : *list) {
    if (r->pool != pool) continue;
    const bool breaker_ok =
        r->breaker.closed() ||
        r->breaker.allows(now_ns ? now_ns : (now_ns = std::chrono::steady_clock::now().time_since_epoch().count()));
    routing::ReplicaView v;
    v.id = r->id;
    v.in_flight = r->in_flight.load(std::memory_order_relaxed);
    v.max_in_flight = r->max_in_flight;
    v.routable = breaker_ok && r->state.load(std::memory_order_relaxed) == ReplicaState::kReady &&
                 (model == 0 || may_serve(r->model_filter.load(std::memory_order_relaxed), model));
    v.weight = r->options.weight;
    v.backup = r->options.backup;
    v.engine_waiting = r->engine_waiting.load(std::memory_order_relaxed);
    v.engine_running = r->engine_running.load(std::memory_order_relaxed);
    v.kv_usage = r->kv_usage.load(std::memory_order_relaxed);
    v.slots_busy = r->slots_busy.load(std::memory_order_relaxed);
    v.slots_total = r->slots_total.load(std::memory_order_relaxed);
    v.in_flight_at_scrape = r->in_flight_at_scrape.load(std::memory_order_relaxed);
    v.kv_capacity_tokens = r->kv_capacity_tokens.load(std::memory_order_relaxed);
    r->stats.fill(v);
    out.push_back(v);
  }
}

bool Registry::try_acquire(ReplicaId id) const {
  Replica& r = at(id);
  uint32_t cur = r.in_flight.load(std::memory_order_relaxed);
  while (r.max_in_flight == 0 || cur < r.max_in_flight) {
    if (r.in_flight.compare_exchange_weak(cur, cur + 1, std::memory_order_acq_rel)) return true;
  }
  return false;
}

void Registry::release(ReplicaId id) const { at(id).in_flight.fetch_sub(1, std::memory_order_acq_rel); }

size_t Registry::count(std::string_view pool, ReplicaState s) const {
  size_t n = 0;
  for (const Replica* r : *snapshot()) n += (r->pool == pool && r->state.load() == s) ? 1 : 0;
  return n;
}

}  // namespace tidal::fleet
