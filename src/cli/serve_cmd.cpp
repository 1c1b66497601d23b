#include <chrono>
#include <thread>

#include "cli/commands.h"
#include "cli/gateway_flags.h"
#include "common/log.h"
#include "common/signals.h"
#include "fleet/local_replicas.h"
#include "gateway/gateway_server.h"

namespace tidal::cli {

Action add_serve_command(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "serve", "Run the gateway and its fleet; by default two local `tidal engine` replicas it starts itself");
  auto flags = add_gateway_flags(*cmd);
  auto replicas = std::make_shared<uint32_t>(2);
  auto engine_args = std::make_shared<std::vector<std::string>>();
  cmd->add_option("--replicas", *replicas, "Local replicas for the first pool when the config names none")
      ->capture_default_str();
  cmd->add_option("--engine-arg", *engine_args,
                  "Extra argument for the local `tidal engine` replicas (repeatable), e.g. --engine-arg=--preset=cpu-tiny");

  return [flags, replicas, engine_args] {
    auto config = load_gateway_config(*flags);
    if (!config) {
      std::fprintf(stderr, "tidal serve: %s\n", config.error().message.c_str());
      return 2;
    }
    // Embedded default: local engine replicas for a pool that lists no static ones.
    auto& first = config->pools.front();
    if (first.replicas.empty() && first.local.count == 0) first.local.count = *replicas;
    for (auto& p : config->pools) {
      if (p.local.command.empty()) p.local.command = {self_executable(), "engine"};
      for (const auto& a : *engine_args) p.local.args.push_back(a);
    }
    auto gw = gateway::Gateway::create(*config);
    if (!gw) {
      std::fprintf(stderr, "tidal serve: %s\n", gw.error().message.c_str());
      return 2;
    }
    block_shutdown_signals();
    fleet::LocalReplicas local;
    for (const auto& p : (*gw)->config().pools) {
      for (uint32_t i = 0; i < p.local.count; ++i) {
        auto proc = local.spawn(p.local.command, p.local.args);
        if (!proc) {
          std::fprintf(stderr, "tidal serve: %s\n", proc.error().message.c_str());
          return 1;
        }
        if (auto id = (*gw)->add_replica(p.name, proc->url); !id) {
          std::fprintf(stderr, "tidal serve: %s\n", id.error().message.c_str());
          return 1;
        }
      }
    }
    (*gw)->start();
    logger("serve")->info("gateway ready url=http://{}:{} local_replicas={}", (*gw)->config().host, (*gw)->port(),
                          local.processes().size());
    const int sig = wait_for_shutdown_signal();
    logger("serve")->info("shutting down signal={}", sig);
    (*gw)->stop();
    (*gw)->join();
    local.stop_all();
    return 0;
  };
}

}  // namespace tidal::cli
