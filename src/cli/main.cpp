// tidal: an LLM-aware gateway and autoscaler. One binary, one subcommand per job.
#include <map>

#include "cli/commands.h"
#include "common/log.h"

int main(int argc, char** argv) {
  CLI::App app{"tidal: an LLM-aware gateway and autoscaler for self-hosted LLM engines"};
  app.require_subcommand(1);
  app.fallthrough();  // --log-level may follow the subcommand
  app.set_version_flag("--version", "tidal 0.1.0");
  std::string log_level = "info";
  app.add_option("--log-level", log_level, "trace|debug|info|warn|error|off")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "critical", "off"}));

  std::map<CLI::App*, tidal::cli::Action> actions;
  auto add = [&](tidal::cli::Action (*adder)(CLI::App&)) {
    const size_t before = app.get_subcommands({}).size();
    tidal::cli::Action action = adder(app);
    actions[app.get_subcommands({})[before]] = std::move(action);
  };
  add(&tidal::cli::add_serve_command);
  add(&tidal::cli::add_engine_command);
  add(&tidal::cli::add_gateway_command);
  add(&tidal::cli::add_bench_command);
  add(&tidal::cli::add_simulate_command);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    // One clear line, exit 2.
    std::fprintf(stderr, "tidal: %s\n", e.what());
    return 2;
  }
  tidal::init_logging(log_level);
  for (auto* sub : app.get_subcommands()) {
    try {
      return actions.at(sub)();
    } catch (const std::exception& e) {
      std::fprintf(stderr, "tidal %s: %s\n", sub->get_name().c_str(), e.what());
      return 1;
    }
  }
  return 2;
}
