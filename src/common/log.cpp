#include "common/log.h"

#include <spdlog/sinks/stdout_color_sinks.h>

#include <deque>
#include <mutex>

namespace tidal {

void init_logging(const std::string& level) {
  spdlog::set_level(spdlog::level::from_str(level));
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %n %v");
}

const std::shared_ptr<spdlog::logger>& logger(std::string_view module) {
  struct Known {
    std::string module;
    std::shared_ptr<spdlog::logger> log;
  };
  thread_local std::deque<Known> known;  // a deque: references survive later additions
  for (const Known& k : known) {
    if (k.module == module) return k.log;
  }
  std::shared_ptr<spdlog::logger> found;
  {
    static std::mutex mu;
    std::lock_guard lock(mu);
    const std::string name(module);
    found = spdlog::get(name);
    if (!found) {
      found = spdlog::stderr_color_mt(name);
      found->set_level(spdlog::get_level());
    }
  }
  return known.emplace_back(Known{std::string(module), std::move(found)}).log;
}

}  // namespace tidal
