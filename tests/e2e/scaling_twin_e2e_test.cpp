// The twin's fidelity for autoscaling: one spike through `tidal serve` (real `tidal
// engine` processes with a cold start, run `kScale` times faster than model time, load
// from `tidal bench`) and through `tidal simulate` with the same policy; the replica
// timelines, SLO attainment and replica-hours must agree. BENCHMARKS.md records the
// figures; this guards looser bounds so a noisy CI machine cannot fail it. It runs alone
// (its own executable, RUN_SERIAL): other tests' CPU load would delay the real side.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/rng.h"
#include "e2e/support.h"

namespace tidal::e2e {
namespace {

using namespace std::chrono_literals;
namespace json = boost::json;

// Model seconds per real second: 4 in CI; TIDAL_TWIN_SCALE=1 for the record in BENCHMARKS.md.
// (Not built with sanitizers: see tests/CMakeLists.txt.)
const double kScale = std::getenv("TIDAL_TWIN_SCALE") ? std::atof(std::getenv("TIDAL_TWIN_SCALE")) : 4;
constexpr double kColdStartS = 8;   // model seconds
constexpr double kEndS = 150;       // model seconds of load

// 2 req/s for 30 s, 14 req/s for 60 s, 2 req/s for 60 s (model time), fixed sizes.
std::string write_spike_trace(const std::string& path) {
  std::ofstream out(path);
  out << "TIMESTAMP,ContextTokens,GeneratedTokens\n";
  Rng rng(3);
  for (double t = 0;;) {
    const double rate = t < 30 || t >= 90 ? 2 : 14;
    t += rng.exponential(1.0 / rate);
    if (t >= kEndS) break;
    const auto us = static_cast<int64_t>(t * 1e6);
    char line[96];
    std::snprintf(line, sizeof line, "2023-11-16 18:%02lld:%02lld.%06lld0,%d,%d\n", static_cast<long long>(us / 60'000'000),
                  static_cast<long long>(us / 1'000'000 % 60), static_cast<long long>(us % 1'000'000), 400, 200);
    out << line;
  }
  return path;
}

// The policy in model seconds; serve gets every duration divided by kScale.
std::string scaling_yaml(double f) {
  std::ostringstream s;
  s << "  scaling:\n"
    << "    policy: hpa\n    interval_s: " << 1 / f << "\n    window_s: " << 6 / f << "\n"
    << "    concurrency_window_s: " << 2 / f << "\n"
    << "    minReplicas: 1\n    maxReplicas: 8\n"
    << "    metrics:\n    - type: External\n"
    << "      external: {metric: {name: concurrency}, target: {type: AverageValue, averageValue: 16}}\n"
    << "    behavior:\n"
    << "      scaleUp: {stabilizationWindowSeconds: 0, policies: [{type: Pods, value: 4, periodSeconds: " << 5 / f << "}]}\n"
    << "      scaleDown: {stabilizationWindowSeconds: " << 20 / f << ", policies: [{type: Pods, value: 8, periodSeconds: "
    << 5 / f << "}]}\n";
  return s.str();
}

struct Step {
  double t;  // model seconds from the start of the load
  int to;
};

// Replica-seconds of a step function starting at `initial` over [0, end).
double area(int initial, const std::vector<Step>& steps, double end) {
  double sum = 0, t = 0;
  int n = initial;
  for (const auto& s : steps) {
    const double at = std::clamp(s.t, 0.0, end);
    sum += n * (at - t);
    t = at;
    n = s.to;
  }
  return sum + n * (end - t);
}

TEST(ScalingTwinE2E, ServeAndSimulateScaleAlikeOnTheSameSpike) {
  const std::string dir = ::testing::TempDir() + "/twin_" + std::to_string(::getpid());
  std::filesystem::create_directories(dir);
  const std::string trace = write_spike_trace(dir + "/spike.csv");
  {
    std::ofstream serve_cfg(dir + "/serve.yaml");
    serve_cfg << "gateway: {port: 0}\nhealth: {interval_ms: 50}\npools:\n- name: default\n"
              << "  local: {count: 1, args: [--preset=llama3-8b-h100, --time-scale=" << kScale
              << ", --startup-delay-s=" << kColdStartS << "], ready_timeout_s: 30}\n"
              << scaling_yaml(kScale);
    std::ofstream sim_cfg(dir + "/sim.yaml");
    sim_cfg << "name: twin\npreset: llama3-8b-h100\ninstance: {cold_start_s: " << kColdStartS << "}\n"
            << "fleet: {initial: 1, min: 1, max: 8}\ngateway: {max_in_flight_per_replica: 256}\n"
            << "slo: {ttft_ms: 2000, tpot_ms: 100}\n"
            << scaling_yaml(1).substr(2);  // top level: drop the pool indentation
  }
  // The simulator's view.
  Process sim({"simulate", "--trace", trace, "-c", dir + "/sim.yaml", "--json", dir + "/sim.json"});
  ASSERT_EQ(sim.wait(60s), 0) << sim.log();
  const auto simulated = read_json(dir + "/sim.json");

  // The real thing.
  Process serve({"serve", "-c", dir + "/serve.yaml"});
  const uint16_t port = gateway_port(serve);
  double t0 = -1;  // controller clock (real s) when the load starts
  ASSERT_TRUE(wait_until([&] {
    auto r = call(port, "GET", "/admin/scaling", {}, 500ms);
    if (r.status != 200) return false;
    const auto doc = json::parse(r.body);
    const auto& pool = doc.at("pools").at(0);
    if (pool.at("fleet").at("ready").as_int64() != 1 || !pool.as_object().contains("last_decision")) return false;
    t0 = pool.at("last_decision").at("t_s").to_number<double>();
    return true;
  }, 30s)) << serve.log();
  Process bench({"bench", "--url", url(port), "--trace", trace, "--trace-time-scale", std::to_string(kScale), "--stream",
                 "--no-progress", "--slo", "ttft=" + std::to_string(2000 / kScale) + ",tpot=" + std::to_string(100 / kScale),
                 "--json", dir + "/real.json"});
  ASSERT_EQ(bench.wait(std::chrono::seconds(static_cast<int>(kEndS / kScale) + 60)), 0) << bench.log();
  const auto real = read_json(dir + "/real.json");
  const auto admin = json::parse(call(port, "GET", "/admin/scaling").body);
  serve.signal(SIGTERM);
  EXPECT_EQ(serve.wait(30s), 0) << serve.log();

  std::vector<Step> serve_steps, sim_steps;
  for (const auto& d : admin.at("pools").at(0).at("decisions").as_array()) {
    serve_steps.push_back({(d.at("t_s").to_number<double>() - t0) * kScale, static_cast<int>(d.at("desired").as_int64())});
  }
  for (const auto& e : simulated.at("scaling_event_log").as_array()) {
    sim_steps.push_back({e.at("t_s").to_number<double>(), static_cast<int>(e.at("to").as_int64())});
  }
  ASSERT_FALSE(serve_steps.empty());
  ASSERT_FALSE(sim_steps.empty());
  auto first_up = [](const std::vector<Step>& s) { return s.front().t; };
  int serve_max = 1, sim_max = 1;
  for (const auto& s : serve_steps) serve_max = std::max(serve_max, s.to);
  for (const auto& s : sim_steps) sim_max = std::max(sim_max, s.to);
  const double serve_area = area(1, serve_steps, kEndS), sim_area = area(1, sim_steps, kEndS);
  const double real_attain = real.at("slo_attainment").to_number<double>();
  const double sim_attain = simulated.at("slo_attainment").to_number<double>();
  std::printf("twin: first scale-up serve %.1f s sim %.1f s | max replicas serve %d sim %d | replica-seconds serve %.0f "
              "sim %.0f (%.1f%%) | SLO attainment serve %.2f%% sim %.2f%%\n",
              first_up(serve_steps), first_up(sim_steps), serve_max, sim_max, serve_area, sim_area,
              100 * (serve_area / sim_area - 1), 100 * real_attain, 100 * sim_attain);
  for (const auto* steps : {&serve_steps, &sim_steps}) {
    std::printf("twin: %s", steps == &serve_steps ? "serve" : "sim  ");
    for (const auto& st : *steps) std::printf(" %.1fs->%d", st.t, st.to);
    std::printf("\n");
  }
  EXPECT_EQ(real.at("errors").to_number<int>(), 0);
  EXPECT_NEAR(first_up(serve_steps), first_up(sim_steps), 4.0) << "model seconds";
  EXPECT_NEAR(serve_max, sim_max, 1);
  EXPECT_NEAR(serve_area / sim_area, 1.0, 0.25);
  EXPECT_NEAR(real_attain, sim_attain, 0.10);
}

}  // namespace
}  // namespace tidal::e2e
