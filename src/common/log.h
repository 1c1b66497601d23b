// Logging: one named spdlog logger per module, key=value messages.
#pragma once

#include <spdlog/spdlog.h>

#include <memory>
#include <string>
#include <string_view>

namespace tidal {

// Sets the global level ("trace".."off") and the pattern; REQUIRES: a valid level name.
void init_logging(const std::string& level);

// The logger for a module ("engine", "gateway", ...), created on first use. Each thread
// keeps the loggers it has asked for (a lookup is a few string compares: no lock, no
// hash, no reference count); the reference stays valid for the thread's lifetime.
const std::shared_ptr<spdlog::logger>& logger(std::string_view module);

}  // namespace tidal
