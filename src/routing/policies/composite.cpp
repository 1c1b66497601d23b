#include "routing/policies/composite.h"

#include <algorithm>

#include "common/tokens.h"
#include "routing/policies/prefix_affinity.h"
#include "routing/policies/scan.h"
#include "routing/replica_stats.h"

namespace tidal::routing {
namespace {

std::optional<Scorer> scorer_of(std::string_view n) {
  if (n == "load") return Scorer::kLoad;
  if (n == "latency") return Scorer::kLatency;
  if (n == "tokens") return Scorer::kTokens;
  if (n == "queue") return Scorer::kQueue;
  if (n == "kv") return Scorer::kKv;
  if (n == "slots") return Scorer::kSlots;
  if (n == "prefix") return Scorer::kPrefix;
  if (n == "session") return Scorer::kSession;
  return std::nullopt;
}

uint64_t budget_of(const ReplicaView& r, uint64_t configured) { return configured ? configured : r.kv_capacity_tokens; }

// Slots in use now: the scraped count plus what the gateway sent (or got back) since.
double busy_slots(const ReplicaView& r) {
  const double delta = static_cast<double>(r.in_flight) - static_cast<double>(r.in_flight_at_scrape);
  const double scraped = r.slots_total ? r.slots_busy : static_cast<double>(r.engine_running + r.engine_waiting);
  return std::max(0.0, scraped + delta);
}

// Per-pick normalisers: the largest raw value of each scorer among eligible replicas.
struct Maxima {
  double in_flight = 0, latency = 0, tokens = 0, waiting = 0, slots = 0, latency_mean = 0;
};

}  // namespace

std::optional<CompositeSpec> composite_spec(const RoutingConfig& c) {
  CompositeSpec s;
  s.name = c.policy;
  s.token_budget = c.token_budget;
  s.half_life_s = c.half_life_s;
  if (c.policy == "peak_ewma") {
    s.scorers = {{Scorer::kLatency, 1}};
  } else if (c.policy == "token_budget") {
    s.scorers = {{Scorer::kTokens, 1}};
    s.budget_filter = true;
  } else if (c.policy == "kv_usage") {
    // KV usage is as old as the last scrape: the fresh in-flight count keeps one scrape
    // interval's requests from all landing on the replica that looked emptiest.
    s.scorers = {{Scorer::kKv, 1}, {Scorer::kLoad, 0.5}};
  } else if (c.policy == "slots") {
    s.scorers = {{Scorer::kSlots, 1}};
  } else if (c.policy == "composite") {
    for (const auto& [name, w] : c.scorers) {
      if (auto sc = scorer_of(name)) s.scorers.emplace_back(*sc, w);
    }
    s.budget_filter = std::find(c.filters.begin(), c.filters.end(), "budget") != c.filters.end();
  } else {
    return std::nullopt;
  }
  return s;
}

Composite::Composite(CompositeSpec spec, PrefixIndex* index, uint64_t seed)
    : spec_(std::move(spec)), index_(index), rng_(seed) {
  for (const auto& [scorer, w] : spec_.scorers) used_ |= 1u << static_cast<unsigned>(scorer);
}

bool Composite::passes(const ReplicaView& r, const RequestInfo& req) const {
  if (!r.eligible()) return false;
  if (!spec_.budget_filter) return true;
  const uint64_t budget = budget_of(r, spec_.token_budget);
  return budget == 0 || r.tokens_in_flight == 0 || r.tokens_in_flight + req.prompt_tokens + req.max_tokens <= budget;
}

std::optional<ReplicaId> Composite::pick(const RequestInfo& req, std::span<const ReplicaView> replicas, TimePoint now) {
  // Pass 1: the raw value of each scorer for each eligible replica, and the maxima the
  // relative scorers normalise by. Pass 2: weighted costs, cheapest first.
  rows_.clear();
  Maxima m;
  size_t with_latency = 0;
  const bool latency = uses(Scorer::kLatency), session = uses(Scorer::kSession) && !req.session.empty();
  const uint64_t session_key = session ? fnv1a64(req.session) : 0;
  uint64_t session_best = 0;
  const ReplicaView* session_top = nullptr;
  for (const auto& r : replicas) {
    if (!passes(r, req)) continue;
    Row row{&r, 0, busy_slots(r)};
    if (latency && r.latency_at != TimePoint{}) {
      row.latency = decayed_latency_ms(r, now, spec_.half_life_s);
      m.latency_mean += row.latency;
      ++with_latency;
    } else {
      row.latency = -1;  // no sample yet
    }
    m.in_flight = std::max(m.in_flight, double(r.in_flight));
    m.tokens = std::max(m.tokens, double(r.tokens_in_flight));
    m.waiting = std::max(m.waiting, double(r.engine_waiting));
    m.slots = std::max(m.slots, row.slots);
    if (session) {
      const uint64_t h = rendezvous(session_key, r.id);
      if (!session_top || h > session_best) {
        session_top = &r;
        session_best = h;
      }
    }
    rows_.push_back(row);
  }
  if (rows_.empty()) return std::nullopt;
  if (latency) {
    // A replica without a latency sample yet is assumed average (not free, not penalised).
    m.latency_mean = with_latency ? m.latency_mean / double(with_latency) : 1.0;
    for (auto& row : rows_) {
      if (row.latency < 0) row.latency = m.latency_mean;
      row.latency *= row.r->in_flight + 1;
      m.latency = std::max(m.latency, row.latency);
    }
  }
  const bool use_prefix = index_ && !req.prefix.empty() && uses(Scorer::kPrefix);
  const PrefixMatches held = use_prefix ? index_->matches(req.prefix) : PrefixMatches{};

  const Row* best = nullptr;
  double best_cost = 0;
  const size_t n = rows_.size();
  const size_t start = rng_.below(n);
  for (size_t k = 0; k < n; ++k) {
    const Row& row = rows_[(start + k) % n];
    const ReplicaView& r = *row.r;
    double cost = 0;
    for (const auto& [scorer, w] : spec_.scorers) {
      double s = 0;
      switch (scorer) {
        case Scorer::kLoad: s = r.in_flight / (m.in_flight + 1); break;
        case Scorer::kLatency: s = m.latency > 0 ? row.latency / m.latency : 0; break;
        case Scorer::kTokens: {
          const uint64_t b = budget_of(r, spec_.token_budget);
          s = b ? std::min(1.0, double(r.tokens_in_flight) / double(b)) : r.tokens_in_flight / (m.tokens + 1);
          break;
        }
        case Scorer::kQueue: s = r.engine_waiting / (m.waiting + 1); break;
        case Scorer::kKv: s = std::clamp(r.kv_usage, 0.0, 1.0); break;
        case Scorer::kSlots: s = r.slots_total ? std::min(1.0, row.slots / r.slots_total) : row.slots / (m.slots + 1); break;
        case Scorer::kPrefix: {
          if (!use_prefix) break;
          s = 1.0 - double(held.held(r.id)) / double(req.prefix.size());
          break;
        }
        case Scorer::kSession: s = session_top && &r != session_top ? 1.0 : 0.0; break;
      }
      cost += w * s;
    }
    if (!best || cost < best_cost) {
      best = &row;
      best_cost = cost;
    }
  }
  return best->r->id;
}

uint32_t Composite::on_dispatch(ReplicaId id, const RequestInfo& req) {
  return index_ && !req.prefix.empty() ? cached_tokens(index_->record(id, req.prefix), req.prompt_tokens) : 0;
}

void Composite::on_removed(ReplicaId id) {
  if (index_) index_->forget(id);
}

}  // namespace tidal::routing
