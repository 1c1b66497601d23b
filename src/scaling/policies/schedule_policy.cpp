#include "scaling/policies/schedule_policy.h"

#include <algorithm>
#include <fmt/format.h>

namespace tidal::scaling {
namespace {

bool on_day(const ScheduleWindow& w, int day) {
  return w.days.empty() || std::find(w.days.begin(), w.days.end(), day) != w.days.end();
}

}  // namespace

bool SchedulePolicy::active(const ScheduleWindow& w, const LocalTime& t) {
  if (w.start_min < w.end_min) return on_day(w, t.weekday) && t.minute_of_day >= w.start_min && t.minute_of_day < w.end_min;
  return (on_day(w, t.weekday) && t.minute_of_day >= w.start_min) ||
         (on_day(w, (t.weekday + 6) % 7) && t.minute_of_day < w.end_min);
}

Recommendation SchedulePolicy::recommend(const Signals& s) {
  static const char* const kDays[] = {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};
  const LocalTime t = tz_.local(s.wall_s);
  Recommendation r;
  const ScheduleWindow* best = nullptr;
  for (const auto& w : c_.windows) {
    if (active(w, t) && (!best || w.min_replicas > best->min_replicas)) best = &w;
  }
  const std::string when = fmt::format("{} {:02}:{:02} {}", kDays[t.weekday], t.minute_of_day / 60, t.minute_of_day % 60,
                                       tz_.name());
  if (!best) {
    r.reason = fmt::format("schedule: no window at {}", when);
    return r;
  }
  r.replicas = best->min_replicas;
  r.reason = fmt::format("schedule: window '{}' at {} keeps at least {}", best->name, when, best->min_replicas);
  return r;
}

}  // namespace tidal::scaling
