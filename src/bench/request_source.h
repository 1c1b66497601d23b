// What `tidal bench` sends and when: synthetic prompts with input/output length
// distributions on an open-loop arrival process (or back to back for closed loop), or
// the requests of a trace file with its arrival times scaled.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "common/distribution.h"
#include "common/rng.h"
#include "workload/arrivals.h"
#include "workload/trace_reader.h"

namespace tidal::bench {

struct PlannedRequest {
  uint64_t index = 0;
  double at_s = 0;             // open loop: send time from the start of the run
  std::string prompt;
  uint32_t input_tokens = 0;
  uint32_t max_tokens = 0;
  // Conversations: the whole JSON body and the session it belongs to.
  std::string body;
  int session = -1;
};

struct SourceOptions {
  Distribution input = Distribution::fixed(256);   // prompt tokens
  Distribution output = Distribution::fixed(128);  // max_tokens
  std::string trace_path;                          // replaces the synthetic prompts and arrivals
  double trace_time_scale = 1.0;                   // replay the trace this many times faster
  double rate = 0;                                 // open loop: requests/s (0: closed loop)
  workload::ArrivalKind arrival = workload::ArrivalKind::kPoisson;
  double cv = 1.0;                                 // gamma burstiness
  double duration_s = 0;                           // stop issuing after this long (0: no limit)
  uint64_t requests = 0;                           // stop after this many (0: no limit)
  uint64_t seed = 1;
};

class RequestSource {
 public:
  [[nodiscard]] static Result<RequestSource> create(SourceOptions opts);
  // The next request, or nullopt when the count, the duration or the trace runs out.
  [[nodiscard]] std::optional<PlannedRequest> next();

 private:
  explicit RequestSource(SourceOptions opts) : opts_(std::move(opts)), rng_(opts_.seed) {}
  SourceOptions opts_;
  Rng rng_;
  std::vector<workload::TraceRequest> trace_;
  bool use_trace_ = false;
  uint64_t issued_ = 0;
  double clock_s_ = 0;
};

}  // namespace tidal::bench
