// Gateway configuration: one YAML file, every key overridable by an environment
// variable (TIDAL_<SECTION>__<KEY>, e.g. TIDAL_GATEWAY__PORT=9000). A bad config is
// refused at start with the file, the key and the reason.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "admission/config.h"
#include "common/error.h"
#include "fleet/engine_scraper.h"
#include "fleet/health_checker.h"
#include "fleet/registry.h"
#include "gateway/auth.h"
#include "gateway/rate_limiter.h"
#include "gateway/resilience.h"
#include "routing/policy.h"
#include "scaling/config.h"

namespace tidal::gateway {

struct LocalReplicasConfig {
  uint32_t count = 0;                 // replicas `tidal serve` starts as local processes (the initial fleet)
  std::vector<std::string> command;   // empty: this binary's `engine` subcommand
  std::vector<std::string> args;      // extra arguments; "--port N" is appended
  double ready_timeout_s = 300;       // a replica not ready by then (or ejected that long) is replaced
  double stop_grace_s = 10;           // SIGTERM, then SIGKILL after this long
};

// Overflow to another pool (a hosted or serverless OpenAI-compatible endpoint, listed as
// a pool of static `replicas`) while this pool is saturated.
struct OffloadConfig {
  std::string to;                    // the pool that takes the overflow; empty: none
  double queue_wait_s = 2;           // saturated while the oldest waiter has waited this long; 0 = not on wait
  double cpu_threshold_pct = 0;      // ... or the local replicas' mean CPU (% of one core) is above; 0 = not on CPU (env CPU_THRESHOLD)
  double memory_threshold_pct = 0;   // ... or their mean memory (% of the host's) is above; 0 = not on memory (env MEMORY_THRESHOLD)
};

struct PoolConfig {
  std::string name = "default";
  std::vector<std::string> models;       // request `model` values routed here; empty: any
  std::vector<std::string> replicas;     // static upstreams, "http://host:port [weight=N] [backup]" (parse_upstream)
  uint32_t max_in_flight_per_replica = 256;  // concurrency limit per replica; 0 = unlimited
  uint32_t max_queue = 10'000;           // requests waiting in the gateway; more get 503
  double queue_timeout_s = 30.0;         // longest wait for a slot before 503 + Retry-After
  LocalReplicasConfig local;
  std::optional<routing::RoutingConfig> routing;  // this pool's routing; unset: the top-level `routing`
  std::optional<admission::AdmissionConfig> admission;  // this pool's tiers; unset: the top-level `admission`
  OffloadConfig offload;
  double cost_per_1k_tokens = 0;         // what this pool's tokens cost (an offload target's price), counted apart
  std::string upstream_api_key;          // sent upstream as "Authorization: Bearer ..." (a hosted endpoint's key)
  // `tidal serve` grows and shrinks the local replicas with this (src/scaling/config.h).
  // Unset: the recommended policy (scaling::recommended_config()) for `tidal serve`'s
  // embedded default; a pool with `local.count` and no `scaling` keeps its size but
  // still replaces replicas that die.
  std::optional<scaling::ScalingConfig> scaling;
};

struct GatewayConfig {
  std::string host = "127.0.0.1";
  uint16_t port = 8080;
  unsigned threads = 0;                  // event loops; 0 = one per core
  uint64_t max_body_bytes = 8ull << 20;  // larger request bodies get 413
  uint32_t connect_timeout_ms = 2000;
  double request_timeout_s = 600;        // whole upstream exchange
  double upstream_idle_timeout_s = 120;  // longest silence from an upstream mid-response
  double client_idle_timeout_s = 75;     // keep-alive idle, and the longest a request's header + body may take
  double client_write_timeout_s = 60;    // a client that reads nothing this long is dropped (its replica slot freed)
  uint32_t max_connections = 10'000;     // open client connections; more get 503 and are closed; 0 = no cap
  uint32_t client_send_buffer_bytes = 0; // SO_SNDBUF of client connections (nginx `listen ... sndbuf=`); 0 = the OS's
  // A request still running after this long has its client watched for leaving (one
  // epoll_ctl), and is cancelled, its replica slot freed, when the client goes; sooner
  // answers cost no watch. 0: every request from its start.
  uint32_t disconnect_watch_after_ms = 50;
  uint32_t max_attempts = 3;             // tries per request across replicas (before the first byte)
  double stream_keepalive_s = 5;         // a stream waiting for scale from zero gets an SSE comment this often
  double drain_timeout_s = 30;           // SIGTERM: stop accepting, let requests finish this long, then exit
  routing::RoutingConfig routing;
  // Tiers, deadlines and fairness (src/admission/config.h); no tiers: one tier "default"
  // with each pool's max_queue and queue_timeout_s.
  admission::AdmissionConfig admission;
  AuthConfig auth;                       // API keys; none: every request is anonymous
  RateLimitBackendConfig rate_limits;    // where the keys' limits are kept (local or Redis)
  ResilienceConfig resilience;           // circuit breakers and the retry budget
  fleet::HealthCheckConfig health;
  fleet::ScrapeConfig scrape;            // engine /metrics (vLLM or llama.cpp) per replica
  std::vector<PoolConfig> pools;
};

// One upstream as nginx writes a `server` line: "http://10.0.0.1:8000 weight=3 backup".
struct Upstream {
  std::string url;
  fleet::ReplicaOptions options;
};
[[nodiscard]] Result<Upstream> parse_upstream(std::string_view spec);

// Loads a YAML file (empty path: defaults only), then applies TIDAL_* overrides.
[[nodiscard]] Result<GatewayConfig> load_config(const std::string& path);
// Parses YAML text; `origin` names it in errors.
[[nodiscard]] Result<GatewayConfig> parse_config(const std::string& yaml, const std::string& origin,
                                                 char** env = nullptr);
// The admission config a pool runs: its own or the top level's, a single tier from its
// max_queue / queue_timeout_s when none are listed.
[[nodiscard]] admission::AdmissionConfig pool_admission(const GatewayConfig& c, const PoolConfig& p);

// Checks cross-field rules (at least one pool, replicas parse, ...).
[[nodiscard]] Result<bool> validate(const GatewayConfig& config);

}  // namespace tidal::gateway
