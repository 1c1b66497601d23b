// Flags shared by `tidal gateway` and `tidal serve`: a config file plus the handful of
// settings people change on the command line (they override the file).
#pragma once

#include <CLI/CLI.hpp>

#include <memory>
#include <optional>

#include "gateway/config.h"

namespace tidal::cli {

struct GatewayFlags {
  std::string config_path;
  std::optional<std::string> host;
  std::optional<uint16_t> port;
  std::optional<unsigned> threads;
  std::optional<uint32_t> max_in_flight;
  std::optional<double> queue_timeout_s;
  std::optional<std::string> routing;
};

std::shared_ptr<GatewayFlags> add_gateway_flags(CLI::App& cmd);
// The file (or defaults) with flag overrides applied and validated.
Result<gateway::GatewayConfig> load_gateway_config(const GatewayFlags& flags);

}  // namespace tidal::cli
