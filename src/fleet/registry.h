// The replica registry: every upstream replica the gateway knows, its state
// (starting / ready / draining / ejected), and its in-flight count. The list of
// replicas is an immutable snapshot swapped atomically; per-replica counters are
// atomics, so the hot path takes no lock.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "fleet/breaker.h"
#include "http/types.h"
#include "http/url.h"
#include "routing/replica_stats.h"
#include "routing/replica_view.h"

namespace tidal::fleet {

using routing::ReplicaId;

enum class ReplicaState : uint8_t { kStarting, kReady, kDraining, kEjected, kGone };
[[nodiscard]] std::string_view to_string(ReplicaState s);

// Static per-replica settings (nginx `server ... weight=3 backup`).
struct ReplicaOptions {
  uint32_t weight = 1;
  bool backup = false;
};

struct Replica {
  ReplicaId id = 0;
  std::string pool;
  http::Url url;
  std::string host_line;  // "Host: host:port\r\n\r\n": the end of each proxied request's head
  http::tcp::endpoint endpoint;
  uint32_t max_in_flight = 0;  // 0 = unlimited
  ReplicaOptions options;
  std::atomic<uint32_t> in_flight{0};
  std::atomic<ReplicaState> state{ReplicaState::kStarting};
  // From the engine's /metrics (EngineScraper); scraped_at_ns is 0 until a scrape
  // succeeded (steady_clock nanoseconds), so readers can tell fresh from stale.
  std::atomic<uint32_t> engine_waiting{0};
  std::atomic<uint32_t> engine_running{0};
  std::atomic<double> kv_usage{0.0};
  std::atomic<int64_t> scraped_at_ns{0};
  // From llama.cpp's /slots (busy of total); slots_total 0: not known.
  std::atomic<uint32_t> slots_busy{0}, slots_total{0};
  std::atomic<uint32_t> in_flight_at_scrape{0};    // in_flight when the last scrape answered
  std::atomic<uint64_t> kv_capacity_tokens{0};     // from vLLM's cache_config_info; 0 = unknown
  // The models it serves (base and LoRA adapters, from its /v1/models) as a 64-bit
  // Bloom filter (model_bits of each); 0 = not known yet, taken as serving anything.
  std::atomic<uint64_t> model_filter{0};
  // What routing keeps about the requests sent here (tokens in flight, latency EWMA, ...).
  routing::ReplicaStats stats;
  CircuitBreaker breaker;  // passive outlier detection from the gateway's own requests

  [[nodiscard]] std::string name() const { return url.authority(); }
};

using ReplicaList = std::vector<Replica*>;

// Two bits of a 64-bit Bloom filter for a model name (never 0).
[[nodiscard]] uint64_t model_bits(std::string_view model);
// Whether a replica with `filter` may serve the model with `bits` (false positives are
// possible: the engine then answers 404 itself).
[[nodiscard]] inline bool may_serve(uint64_t filter, uint64_t bits) { return filter == 0 || (filter & bits) == bits; }

class Registry {
 public:
  using Listener = std::function<void(const Replica&, ReplicaState from, ReplicaState to)>;

  ReplicaId add(std::string pool, http::Url url, http::tcp::endpoint ep, uint32_t max_in_flight,
                ReplicaState initial, ReplicaOptions options = {});
  // Moves a replica to `to` and tells listeners; returns false if it was already there.
  bool set_state(ReplicaId id, ReplicaState to, std::string_view reason);
  // Called on every state change (from the changing thread); register before serving.
  void on_change(Listener l) { listeners_.push_back(std::move(l)); }

  [[nodiscard]] std::shared_ptr<const ReplicaList> snapshot() const { return list_.load(std::memory_order_acquire); }
  [[nodiscard]] Replica& at(ReplicaId id) const;

  // Fresh views of a pool's replicas into `out` (cleared first; reuse it to avoid
  // allocating). With `model` (model_bits), replicas known not to serve it are not routable.
  void views(std::string_view pool, std::vector<routing::ReplicaView>& out, uint64_t model = 0) const;
  // False when the pool has ready replicas and every one is known not to serve `model`.
  [[nodiscard]] bool model_served(std::string_view pool, uint64_t model) const;
  // Takes an in-flight slot if the replica is under its limit.
  [[nodiscard]] bool try_acquire(ReplicaId id) const;
  void release(ReplicaId id) const;
  // Replicas of a pool in a state.
  [[nodiscard]] size_t count(std::string_view pool, ReplicaState s) const;

 private:
  mutable std::mutex mu_;  // serialises add()
  std::vector<std::unique_ptr<Replica>> owned_;
  std::atomic<std::shared_ptr<const ReplicaList>> list_{std::make_shared<const ReplicaList>()};
  std::vector<Listener> listeners_;
};

}  // namespace tidal::fleet
