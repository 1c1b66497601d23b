#include "scaling/time_zone.h"

#include <chrono>
#include <cmath>
#include <date/tz.h>
#include <stdexcept>

namespace tidal::scaling {

Result<TimeZone> TimeZone::locate(const std::string& name) {
  try {
    return TimeZone(date::locate_zone(name), name);
  } catch (const std::exception& e) {
    return make_error(ErrorKind::kInvalidRequest, "unknown time zone '" + name + "': " + e.what(), "timezone");
  }
}

LocalTime TimeZone::local(double unix_s) const {
  const date::sys_seconds t{std::chrono::seconds(static_cast<int64_t>(std::floor(unix_s)))};
  const auto lt = tz_->to_local(t);
  const auto day = date::floor<date::days>(lt);
  const date::weekday wd{day};
  const auto minutes = std::chrono::duration_cast<std::chrono::minutes>(lt - day).count();
  return LocalTime{static_cast<int>(wd.iso_encoding()) - 1, static_cast<int>(minutes)};
}

bool time_zone_exists(const std::string& name) { return static_cast<bool>(TimeZone::locate(name)); }

}  // namespace tidal::scaling
