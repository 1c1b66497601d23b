// The simulator against the real thing: the same trace through two real `tidal engine`
// replicas behind `tidal gateway`, measured by `tidal bench`, and through `tidal
// simulate` with the same deployment. BENCHMARKS.md records a 5-minute run within 4%;
// this guards a looser bound on a 30-second slice so CI noise cannot fail it.
#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <fstream>
#include <sstream>

#include "e2e/support.h"
#include "support/paths.h"

namespace tidal::e2e {
namespace {

using namespace std::chrono_literals;

double at(const boost::json::object& o, const char* metric, const char* q) {
  return o.at(metric).at(q).to_number<double>();
}

TEST(FidelityE2E, SimulatorMatchesRealEnginesOnTheSameTrace) {
  const std::string trace = testing_paths::data_dir() + "/azure_code_300.csv";
  const std::string real_json = "/tmp/tidal-fid-real-" + std::to_string(::getpid()) + ".json";
  const std::string sim_json = "/tmp/tidal-fid-sim-" + std::to_string(::getpid()) + ".json";

  Engine a = start_engine({"--preset", "llama3-8b-h100", "--seed", "1"});
  Engine b = start_engine({"--preset", "llama3-8b-h100", "--seed", "2"});
  Gateway gw = start_gateway({a.port, b.port}, 2);
  Process bench({"bench", "--url", url(gw.port), "--trace", trace, "--trace-time-scale", "4", "--stream",
                 "--no-progress", "--json", real_json});
  ASSERT_EQ(bench.wait(180s), 0) << bench.log();
  Process sim({"simulate", "--trace", trace, "--trace-time-scale", "4", "-c",
               testing_paths::source_dir() + "/examples/sim/fidelity-2x-h100.yaml", "--json", sim_json});
  ASSERT_EQ(sim.wait(60s), 0) << sim.log();

  const auto real = read_json(real_json), simulated = read_json(sim_json);
  std::remove(real_json.c_str());
  std::remove(sim_json.c_str());
  EXPECT_EQ(real.at("errors").to_number<int>(), 0);
  EXPECT_EQ(simulated.at("failed").to_number<int>(), 0);
  for (const char* metric : {"ttft_ms", "e2e_ms"}) {
    const double r50 = at(real, metric, "p50"), s50 = at(simulated, metric, "p50");
    const double r95 = at(real, metric, "p95"), s95 = at(simulated, metric, "p95");
    std::printf("%s real p50 %.1f p95 %.1f | sim p50 %.1f p95 %.1f\n", metric, r50, r95, s50, s95);
    EXPECT_NEAR(s50 / r50, 1.0, 0.30) << metric << " p50 real " << r50 << " sim " << s50;
    EXPECT_NEAR(s95 / r95, 1.0, 0.40) << metric << " p95 real " << r95 << " sim " << s95;
  }
}

}  // namespace
}  // namespace tidal::e2e
