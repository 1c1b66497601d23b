// The `routing:` section, owned here: the policy names, their parameters, parsing and
// validation. The gateway (globally and per pool) and the simulator both call it.
//
//   routing:
//     policy: prefix_affinity     # see known_policies()
//     choices: 2                  # least_outstanding: sampled replicas, or "all" (nginx least_conn)
//     half_life_s: 10             # peak_ewma / latency scorer decay
//     token_budget: 0             # tokens in flight per replica; 0 = learned from the engine's KV size
//     prefix: {cache_blocks: 8192, max_pending_prefill_tokens: 8192, request_cost_tokens: 128}
//     session: {load_factor: 1.25}
//     filters: [budget]           # composite only (health and capacity always apply)
//     scorers: {prefix: 3, load: 1, kv: 1}
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/error.h"

namespace YAML {
class Node;
}

namespace tidal::routing {

inline constexpr uint32_t kAllChoices = 0;  // choices: all

struct PrefixConfig {
  uint32_t cache_blocks = 8192;                 // per replica, 16-token blocks (the engine's KV cache size)
  uint64_t max_pending_prefill_tokens = 8192;   // sticky until the holder has this much uncached prefill queued
  uint64_t request_cost_tokens = 128;           // one request in flight weighs as much as this many prefill tokens
};

struct RoutingConfig {
  std::string policy = "least_outstanding";
  uint32_t choices = 2;           // least_outstanding: d sampled replicas; kAllChoices = full scan
  double half_life_s = 10;        // peak EWMA decay
  uint64_t token_budget = 0;      // per replica; 0 = learned (kv_capacity_tokens), else unlimited
  double session_load_factor = 1.25;  // session: a replica takes at most this × the mean in-flight (+1)
  PrefixConfig prefix;
  std::vector<std::string> filters;                     // composite: budget | adapter
  std::vector<std::pair<std::string, double>> scorers;  // composite: name → weight

  [[nodiscard]] bool uses_prefix_index() const;
};

// Every policy name, and the scorer and filter names of `composite`.
[[nodiscard]] const std::vector<std::string_view>& known_policies();
[[nodiscard]] const std::vector<std::string_view>& known_scorers();
[[nodiscard]] const std::vector<std::string_view>& known_filters();

// Reads a `routing:` mapping into `out` (keys not given keep their value). Throws
// config::KeyError naming the dotted key.
void read_routing(const YAML::Node& node, const std::string& where, RoutingConfig& out);
// Cross-field rules; the error's param is the dotted key under `where`.
[[nodiscard]] Result<bool> validate(const RoutingConfig& c, const std::string& where);

}  // namespace tidal::routing
