// What a scaling policy sees each controller tick: a snapshot of the fleet and the
// load over the last interval. Pure data; the simulator and (later) the controller fill it.
#pragma once

namespace tidal::scaling {

struct Signals {
  double now_s = 0;          // time of the tick (virtual or real)
  int ready = 0, starting = 0, draining = 0;
  double queue_depth = 0;    // requests waiting in the gateway
  double in_flight = 0;      // requests on replicas
  double rps = 0;            // arrivals per second over the last interval
  double ttft_p95_ms = 0;    // of requests that got their first token in the interval
  double e2e_p95_ms = 0;
  double utilization = 0;    // in_flight / (ready * max_in_flight_per_replica)
};

struct Recommendation {
  int replicas = 0;          // desired ready + starting
  const char* reason = "";
};

}  // namespace tidal::scaling
