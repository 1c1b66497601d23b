#include "cli/gateway_flags.h"

namespace tidal::cli {

std::shared_ptr<GatewayFlags> add_gateway_flags(CLI::App& cmd) {
  auto f = std::make_shared<GatewayFlags>();
  cmd.add_option("-c,--config", f->config_path, "YAML config file (see docs/configuration.md)")->check(CLI::ExistingFile);
  cmd.add_option("--host", f->host, "Address to listen on (default 127.0.0.1)");
  cmd.add_option("--port", f->port, "Port to listen on (default 8080)");
  cmd.add_option("--threads", f->threads, "Event loops (default: one per core)");
  cmd.add_option("--max-in-flight", f->max_in_flight, "Concurrency limit per replica for every pool (0: unlimited)");
  cmd.add_option("--queue-timeout-s", f->queue_timeout_s, "Longest wait in the gateway queue before 503")
      ->check(CLI::NonNegativeNumber);
  cmd.add_option("--routing", f->routing,
                 "Routing policy of every pool: least_outstanding, round_robin, random, weighted, peak_ewma, "
                 "token_budget, slots, kv_usage, session, prefix_affinity (composite: in the config file)");
  return f;
}

Result<gateway::GatewayConfig> load_gateway_config(const GatewayFlags& flags) {
  auto config = gateway::load_config(flags.config_path);
  if (!config) return config;
  if (flags.host) config->host = *flags.host;
  if (flags.port) config->port = *flags.port;
  if (flags.threads) config->threads = *flags.threads;
  if (config->pools.empty()) config->pools.push_back({});
  if (flags.routing) config->routing.policy = *flags.routing;
  for (auto& p : config->pools) {
    if (flags.max_in_flight) p.max_in_flight_per_replica = *flags.max_in_flight;
    if (flags.queue_timeout_s) p.queue_timeout_s = *flags.queue_timeout_s;
    if (flags.routing && p.routing) p.routing->policy = *flags.routing;
  }
  if (auto ok = gateway::validate(*config); !ok) {
    return make_error(ErrorKind::kInvalidRequest, ok.error().param + ": " + ok.error().message, ok.error().param);
  }
  return config;
}

}  // namespace tidal::cli
