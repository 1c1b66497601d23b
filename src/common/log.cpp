#include "common/log.h"

#include <spdlog/sinks/stdout_color_sinks.h>

#include <mutex>

namespace tidal {

void init_logging(const std::string& level) {
  spdlog::set_level(spdlog::level::from_str(level));
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %n %v");
}

std::shared_ptr<spdlog::logger> logger(const std::string& module) {
  static std::mutex mu;
  std::lock_guard lock(mu);
  if (auto existing = spdlog::get(module)) return existing;
  auto created = spdlog::stderr_color_mt(module);
  created->set_level(spdlog::get_level());
  return created;
}

}  // namespace tidal
