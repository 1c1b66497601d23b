// Logging: one named spdlog logger per module, key=value messages.
#pragma once

#include <spdlog/spdlog.h>

#include <memory>
#include <string>

namespace tidal {

// Sets the global level ("trace".."off") and the pattern; REQUIRES: a valid level name.
void init_logging(const std::string& level);

// The logger for a module ("engine", "gateway", ...), created on first use.
std::shared_ptr<spdlog::logger> logger(const std::string& module);

}  // namespace tidal
