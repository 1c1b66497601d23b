// What a scaling policy sees each controller tick: a snapshot of the fleet and of the
// load over the last window. Pure data; the gateway's collector (real clock) and the
// simulator (virtual clock) fill it the same way, through scaling::LoadWindow.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace tidal::scaling {

// One replica as the controller sees it. Engine- and host-side values are optional:
// a replica that was not scraped (yet) has none, and the policies treat it as missing.
struct ReplicaSample {
  uint32_t id = 0;
  bool ready = false;                   // serving; false: starting or temporarily ejected
  double in_flight = 0;                 // the gateway's own count, always present
  std::optional<double> cpu_pct;        // % of the replica's CPU request (HPA Utilization)
  std::optional<double> memory_bytes;
  std::optional<double> kv_usage;       // 0..1
  std::optional<double> engine_waiting; // requests queued inside the engine
  std::optional<double> slot_usage;     // llama.cpp /slots: busy / total, 0..1
};

// One finished request as the data plane saw it, for the online calibration of the
// `slo` policy (scaling::StepFit).
struct RequestSample {
  uint32_t prompt_tokens = 0, output_tokens = 0;
  double ttft_ms = 0;   // to the first token
  double tpot_ms = 0;   // mean gap between later tokens; 0: unknown (not streamed, or one token)
  double batch = 1;     // mean requests in flight on its replica while it ran, itself included
  bool alone = false;   // its replica had nothing else in flight when it was sent
};

struct Signals {
  double now_s = 0;                     // time of the tick (virtual or real, monotonic)
  double wall_s = 0;                    // the same instant as Unix time (the simulator: its calendar)
  int ready = 0, starting = 0, draining = 0;
  double queue_depth = 0;               // requests waiting in the gateway
  double in_flight = 0;                 // requests on replicas
  // in_flight + queue_depth averaged over the short window (tick samples); < 0: not set,
  // the policies then use the instantaneous sum.
  double concurrency_avg = -1;
  double rps = 0;                       // arrivals per second over the short window
  double prompt_tokens_per_s = 0;       // over the short window
  double output_tokens_per_s = 0;       // over the short window
  double ttft_p95_ms = 0;               // of first tokens in the short window; 0: none
  double e2e_p95_ms = 0;
  double tpot_p95_ms = 0;               // of requests finished in the short window; 0: none
  double utilization = 0;               // in_flight / (ready * max_in_flight_per_replica)
  // The gateway's load window covers the whole window (false right after start-up or
  // when the collector missed ticks). Policies never shrink capacity on stale load.
  bool load_fresh = true;
  double idle_s = 0;                    // since the last arrival (since start if none)
  std::vector<ReplicaSample> replicas;  // ready and starting ones (not draining)
  std::vector<RequestSample> finished;  // requests finished since the previous tick (may be sampled)
  std::map<std::string, double> external;  // Prometheus query results by metric name (absent: failed)

  [[nodiscard]] int current() const { return ready + starting; }
};

struct Recommendation {
  int replicas = 0;                     // desired ready + starting
  std::string reason;                   // human-readable, with the numbers that drove it
  bool hold_down = false;               // a signal was missing: this must not shrink the fleet
};

}  // namespace tidal::scaling
