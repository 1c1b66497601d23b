// One function per subcommand: each adds its flags to the app and returns the action
// to run when that subcommand is chosen (exit code).
#pragma once

#include <CLI/CLI.hpp>

#include <functional>

namespace tidal::cli {

using Action = std::function<int()>;

Action add_engine_command(CLI::App& app);
Action add_gateway_command(CLI::App& app);
Action add_bench_command(CLI::App& app);
Action add_serve_command(CLI::App& app);
Action add_simulate_command(CLI::App& app);

// Path of the running executable (to start local replicas).
std::string self_executable();

}  // namespace tidal::cli
