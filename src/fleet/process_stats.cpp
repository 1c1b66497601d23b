#include "fleet/process_stats.h"

#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>

namespace tidal::fleet {

std::optional<ProcessSample> read_process(pid_t pid) {
  const std::string dir = "/proc/" + std::to_string(pid);
  std::ifstream stat(dir + "/stat");
  std::string line;
  if (!std::getline(stat, line)) return std::nullopt;
  // Fields after the command name (which may hold spaces) start after the last ')'.
  const size_t close = line.rfind(')');
  if (close == std::string::npos || close + 2 > line.size()) return std::nullopt;
  std::istringstream rest(line.substr(close + 2));
  std::string field;
  double utime = 0, stime = 0;
  for (int i = 3; i <= 15 && rest >> field; ++i) {  // field 3 is the state; 14 utime, 15 stime
    if (i == 14) utime = std::stod(field);
    if (i == 15) stime = std::stod(field);
  }
  if (!rest) return std::nullopt;
  std::ifstream statm(dir + "/statm");
  double size_pages = 0, resident_pages = 0;
  if (!(statm >> size_pages >> resident_pages)) return std::nullopt;
  const double ticks = static_cast<double>(::sysconf(_SC_CLK_TCK));
  const double page = static_cast<double>(::sysconf(_SC_PAGESIZE));
  return ProcessSample{(utime + stime) / ticks, resident_pages * page};
}

std::optional<double> ProcessCpu::percent(pid_t pid, double now_s) {
  auto s = read_process(pid);
  if (!s) return std::nullopt;
  std::optional<double> out;
  if (last_t_s_ >= 0 && now_s > last_t_s_) out = 100.0 * (s->cpu_seconds - last_cpu_s_) / (now_s - last_t_s_);
  last_cpu_s_ = s->cpu_seconds;
  last_t_s_ = now_s;
  return out;
}

}  // namespace tidal::fleet
