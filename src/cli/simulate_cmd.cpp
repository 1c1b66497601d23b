#include <chrono>
#include <fstream>

#include "cli/commands.h"
#include "sim/html_report.h"
#include "sim/report.h"
#include "sim/runner.h"

namespace tidal::cli {

Action add_simulate_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("simulate", "Simulate clients + gateway + fleet + autoscaler on a virtual clock");
  struct Opts {
    sim::ScenarioParams scenario;
    std::string input = "lognormal:1000:1", output = "lognormal:200:1";
    std::string trace, config, json_path, html_path, markdown_path;
    std::vector<std::string> compare;
    double trace_time_scale = 1, rate_scale = 1;
    uint64_t seed = 1;
  };
  auto o = std::make_shared<Opts>();
  cmd->add_option("--scenario", o->scenario.name, "spike, gradual, periodic, drop, mixed or constant")
      ->check(CLI::IsMember({"spike", "gradual", "periodic", "drop", "mixed", "constant"}))
      ->capture_default_str();
  cmd->add_option("--rate", o->scenario.base_rps, "Base request rate (req/s) of the scenario")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--duration-s", o->scenario.duration_s, "Length of the scenario (default: its own)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--peak-ratio", o->scenario.peak_ratio, "spike: peak/base (10); periodic: peak/trough (4)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--cv", o->scenario.arrival_cv, "Burstiness: coefficient of variation of inter-arrival gaps (1 = Poisson; gamma otherwise)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--days", o->scenario.days, "periodic: number of days")->check(CLI::PositiveNumber)->capture_default_str();
  cmd->add_option("--input-tokens", o->input, "Prompt length distribution (N, uniform:A:B, exp:MEAN, lognormal:MEAN:CV)")
      ->capture_default_str();
  cmd->add_option("--output-tokens", o->output, "Output length distribution")->capture_default_str();
  cmd->add_option("--trace", o->trace, "Azure CSV, Mooncake JSONL or ServeGen aggregate CSV instead of a scenario")
      ->check(CLI::ExistingFile);
  cmd->add_option("--trace-time-scale", o->trace_time_scale, "Replay the trace this many times faster")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--rate-scale", o->rate_scale, "Multiply the trace's request rate")->check(CLI::PositiveNumber);
  cmd->add_option("-c,--config", o->config, "Deployment and policy file (docs/simulate.md)")->check(CLI::ExistingFile);
  cmd->add_option("--compare", o->compare, "Run several policy files on the same workload and seed")
      ->check(CLI::ExistingFile)
      ->expected(1, -1);
  cmd->add_option("--seed", o->seed, "Random seed")->capture_default_str();
  cmd->add_option("--json", o->json_path, "Write the report as JSON");
  cmd->add_option("--html", o->html_path, "Write a self-contained HTML report with charts");
  cmd->add_option("--markdown", o->markdown_path, "Write a Markdown table (one row per policy)");

  return [o] {
    auto fail = [](const std::string& m) {
      std::fprintf(stderr, "tidal simulate: %s\n", m.c_str());
      return 2;
    };
    auto in = Distribution::parse(o->input);
    if (!in) return fail("--input-tokens: " + in.error().message);
    auto out = Distribution::parse(o->output);
    if (!out) return fail("--output-tokens: " + out.error().message);
    o->scenario.input = *in;
    o->scenario.output = *out;
    std::vector<std::pair<std::string, sim::SimConfig>> configs;
    std::vector<std::string> paths = o->compare;
    if (!o->config.empty()) paths.insert(paths.begin(), o->config);
    for (const auto& p : paths) {
      auto c = sim::load_sim_config(p);
      if (!c) return fail(c.error().message);
      configs.emplace_back(p, *c);
    }
    if (configs.empty()) configs.emplace_back("defaults", sim::SimConfig{});
    auto make = [&]() -> Result<std::unique_ptr<sim::Workload>> {
      if (!o->trace.empty()) return sim::Workload::trace(o->trace, o->trace_time_scale, o->rate_scale, o->scenario, o->seed);
      return sim::Workload::scenario(o->scenario, o->seed);
    };
    std::vector<sim::SimResult> runs;
    for (const auto& [path, config] : configs) {
      auto w = make();
      if (!w) return fail(w.error().message);
      auto sizing = make();
      const auto t0 = std::chrono::steady_clock::now();
      auto r = sim::run_simulation(config, **w, **sizing, o->seed);
      if (!r) return fail(path + ": " + r.error().message);
      std::fprintf(stderr, "simulated %s: %.0f s of traffic, %llu requests, %llu events in %.2f s\n",
                   config.name.c_str(), r->duration_s, static_cast<unsigned long long>(r->requests),
                   static_cast<unsigned long long>(r->events),
                   std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
      runs.push_back(std::move(*r));
    }
    std::fputs(sim::to_table(runs).c_str(), stdout);
    if (!o->json_path.empty()) {
      std::ofstream f(o->json_path);
      if (!f) return fail("cannot write " + o->json_path);
      f << (runs.size() == 1 ? sim::to_json(runs.front()) : sim::to_json(runs)) << "\n";
    }
    if (!o->markdown_path.empty()) {
      std::ofstream f(o->markdown_path);
      if (!f) return fail("cannot write " + o->markdown_path);
      f << sim::to_markdown(runs);
    }
    if (!o->html_path.empty()) {
      std::ofstream f(o->html_path);
      if (!f) return fail("cannot write " + o->html_path);
      f << sim::to_html(runs);
    }
    return 0;
  };
}

}  // namespace tidal::cli
