// The composable policy (llm-d / Dynamo style cost functions without code): filters
// drop replicas, then each remaining replica's cost is a weighted sum of scorers, each
// normalised to [0, 1] (0 = best), and the cheapest wins (ties: the first from a random
// start). Health and capacity always filter. Scorers:
//   load     in flight / (most in flight among the eligible + 1)
//   latency  peak EWMA ms/token × (in flight + 1), over the largest such product
//   tokens   tokens in flight / budget (token_budget, the engine's KV size, else the largest + 1)
//   queue    engine waiting / (largest + 1)
//   kv       the engine's KV-cache usage (0..1, as scraped)
//   slots    busy slots (llama.cpp /slots, else vLLM running + waiting), corrected
//            since the scrape by the gateway's own in-flight change, over the slot total
//   prefix   1 − leading blocks held / prompt blocks (the pool's PrefixIndex)
//   session  0 on the session key's rendezvous replica, 1 elsewhere
// Filters: budget — tokens in flight + this request's prompt + max_tokens must fit the
// budget (an idle replica takes anything); when none fits the request waits in the
// gateway queue instead of piling onto an engine.
// The named policies peak_ewma, token_budget, kv_usage and slots are presets of this.
#pragma once

#include <vector>

#include "common/rng.h"
#include "routing/policy.h"

namespace tidal::routing {

enum class Scorer : uint8_t { kLoad, kLatency, kTokens, kQueue, kKv, kSlots, kPrefix, kSession };

struct CompositeSpec {
  std::string name = "composite";
  std::vector<std::pair<Scorer, double>> scorers;
  bool budget_filter = false;
  uint64_t token_budget = 0;  // 0: the engine's KV size when known
  double half_life_s = 10;
};

// The spec for a policy name (composite or one of its presets); nullopt for others.
[[nodiscard]] std::optional<CompositeSpec> composite_spec(const RoutingConfig& c);

class Composite final : public RoutingPolicy {
 public:
  Composite(CompositeSpec spec, PrefixIndex* index, uint64_t seed);
  std::optional<ReplicaId> pick(const RequestInfo& req, std::span<const ReplicaView> replicas, TimePoint now) override;
  uint32_t on_dispatch(ReplicaId id, const RequestInfo& req) override;
  void on_removed(ReplicaId id) override;
  std::string_view name() const override { return spec_.name; }

 private:
  [[nodiscard]] bool passes(const ReplicaView& r, const RequestInfo& req) const;
  [[nodiscard]] bool uses(Scorer s) const { return used_ & (1u << static_cast<unsigned>(s)); }
  struct Row {
    const ReplicaView* r;
    double latency;  // decayed EWMA × (in flight + 1)
    double slots;    // busy slots now
  };
  CompositeSpec spec_;
  uint32_t used_ = 0;      // bit per Scorer
  std::vector<Row> rows_;  // scratch, reused (this object belongs to one event loop)
  PrefixIndex* index_;  // set when a prefix scorer is used
  Rng rng_;
};

}  // namespace tidal::routing
