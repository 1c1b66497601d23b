// Simulated clients: arrivals from a named scenario (a rate curve sampled by thinning a
// Poisson process), a request trace (Azure CSV, Mooncake JSONL) or a ServeGen aggregate
// rate curve, with request sizes. Generated lazily, so a week of traffic costs no memory.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/distribution.h"
#include "common/error.h"
#include "common/rng.h"
#include "workload/trace_reader.h"

namespace tidal::sim {

struct SimRequest {
  double t_s = 0;
  uint32_t input_tokens = 1;
  uint32_t output_tokens = 1;
  std::vector<uint64_t> prefix;  // engine prefix-block hashes (16 tokens each); may be empty
};

struct ScenarioParams {
  std::string name = "spike";  // spike | gradual | periodic | drop | mixed | constant
  double base_rps = 2.0;       // the scenario's starting (or mean, for periodic) rate
  double duration_s = 0;       // 0: the scenario's default length
  double peak_ratio = 0;       // spike: peak/base (default 10); periodic: peak/trough (default 4)
  double days = 3;             // periodic: number of daily cycles
  double arrival_cv = 1;       // 1: Poisson; otherwise a gamma renewal process with this CV of gaps
  Distribution input = *Distribution::parse("lognormal:1000:1");
  Distribution output = *Distribution::parse("lognormal:200:1");
};

// A step in the load the scaling latencies are measured against.
struct LoadChange {
  double t_s = 0;
  double rps_before = 0;
  double rps_after = 0;
};

class Workload {
 public:
  using RateFn = std::function<double(double t_s)>;
  using SizeFn = std::function<void(double t_s, Rng&, SimRequest&)>;

  [[nodiscard]] static Result<std::unique_ptr<Workload>> scenario(const ScenarioParams& p, uint64_t seed);
  // .csv with a TIMESTAMP header: Azure; .jsonl: Mooncake; .csv with a window_start_s
  // header: ServeGen aggregate rates; a headerless 6-column .csv: one ServeGen client
  // (window_start_s,rate_rps,cv,pattern,shape,scale), inter-arrivals drawn from the
  // fitted Gamma/Weibull of each 600 s window. Sizes of the ServeGen forms come from `sizes`. `time_scale` replays X times
  // faster; `rate_scale` multiplies the request rate.
  [[nodiscard]] static Result<std::unique_ptr<Workload>> trace(const std::string& path, double time_scale,
                                                               double rate_scale, const ScenarioParams& sizes,
                                                               uint64_t seed);

  [[nodiscard]] std::optional<SimRequest> next();
  // Expected arrivals per second at t (for needed capacity and over-provisioning).
  [[nodiscard]] double rate_at(double t_s) const { return rate_(t_s); }
  [[nodiscard]] double duration_s() const { return duration_s_; }
  [[nodiscard]] const std::vector<LoadChange>& changes() const { return changes_; }
  [[nodiscard]] const std::string& description() const { return description_; }

 private:
  Workload() : rng_(1) {}
  RateFn rate_;
  double rate_max_ = 0;
  double arrival_cv_ = 1;
  SizeFn sizes_;
  double duration_s_ = 0;
  std::vector<LoadChange> changes_;
  std::string description_;
  Rng rng_;
  double t_ = 0;
  // Request traces replay recorded arrivals instead of sampling the rate curve.
  std::vector<workload::TraceRequest> trace_;
  size_t trace_pos_ = 0;
  double time_scale_ = 1, rate_scale_ = 1;
  std::vector<SimRequest> copies_;  // pending duplicates when rate_scale > 1
  // ServeGen client windows: start, rate, pattern (0 idle, 1 Gamma, 2 Weibull), shape, scale.
  struct ClientWindow {
    double start_s, rate;
    int pattern;
    double shape, scale;
  };
  std::vector<ClientWindow> windows_;
  double window_len_s_ = 600;
  [[nodiscard]] std::optional<SimRequest> next_client_arrival();
};

// Engine prefix-block hashes for a Mooncake request: each 512-token hash id covers 32
// engine blocks; equal leading ids give equal leading hashes.
[[nodiscard]] std::vector<uint64_t> mooncake_prefix(const std::vector<uint64_t>& hash_ids, uint32_t input_tokens);

}  // namespace tidal::sim
