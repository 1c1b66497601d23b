// Local calendar time in an IANA time zone (daylight saving aware), for the schedule
// policy. Backed by Howard Hinnant's date/tz library over the system's tz database
// (/usr/share/zoneinfo, Debian's tzdata); the zone is looked up once, when the
// configuration is read, so the policy itself does no I/O.
#pragma once

#include <string>

#include "common/error.h"

namespace date {
class time_zone;
}

namespace tidal::scaling {

struct LocalTime {
  int weekday = 0;        // 0 = Monday .. 6 = Sunday
  int minute_of_day = 0;  // 0 .. 1439
};

class TimeZone {
 public:
  [[nodiscard]] static Result<TimeZone> locate(const std::string& name);
  [[nodiscard]] LocalTime local(double unix_s) const;
  [[nodiscard]] const std::string& name() const { return name_; }

 private:
  TimeZone(const date::time_zone* tz, std::string name) : tz_(tz), name_(std::move(name)) {}
  const date::time_zone* tz_;
  std::string name_;
};

[[nodiscard]] bool time_zone_exists(const std::string& name);

}  // namespace tidal::scaling
