#include "cli/commands.h"
#include "cli/gateway_flags.h"
#include "common/log.h"
#include "common/signals.h"
#include "gateway/gateway_server.h"

namespace tidal::cli {

Action add_gateway_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("gateway", "Run the OpenAI-compatible gateway in front of configured replicas");
  auto flags = add_gateway_flags(*cmd);
  auto replicas = std::make_shared<std::vector<std::string>>();
  cmd->add_option("--replica", *replicas, "Upstream replica URL (repeatable), added to the first pool");

  return [flags, replicas] {
    auto config = load_gateway_config(*flags);
    if (!config) {
      std::fprintf(stderr, "tidal gateway: %s\n", config.error().message.c_str());
      return 2;
    }
    if (config->pools.empty()) config->pools.push_back({});
    for (const auto& r : *replicas) config->pools.front().replicas.push_back(r);
    bool any = false;
    for (const auto& p : config->pools) any = any || !p.replicas.empty();
    if (!any) {
      std::fprintf(stderr, "tidal gateway: no replicas: pass --replica URL or list pools[].replicas in the config\n");
      return 2;
    }
    auto gw = gateway::Gateway::create(*config);
    if (!gw) {
      std::fprintf(stderr, "tidal gateway: %s\n", gw.error().message.c_str());
      return 2;
    }
    block_shutdown_signals();
    (*gw)->start();
    const int sig = wait_for_shutdown_signal();
    logger("gateway")->info("shutting down signal={}", sig);
    (*gw)->drain((*gw)->config().drain_timeout_s);
    (*gw)->stop();
    (*gw)->join();
    return 0;
  };
}

}  // namespace tidal::cli
