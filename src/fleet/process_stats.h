// CPU and memory of a local process, from /proc (Linux): what an HPA reads from the
// metrics server for a pod, here for `tidal serve`'s local replicas. CPU is a rate, so a
// ProcessCpu remembers the previous reading.
#pragma once

#include <sys/types.h>

#include <optional>

namespace tidal::fleet {

struct ProcessSample {
  double cpu_seconds = 0;   // user + system time so far
  double rss_bytes = 0;     // resident set size
};

// nullopt if the process is gone or /proc cannot be read.
[[nodiscard]] std::optional<ProcessSample> read_process(pid_t pid);

class ProcessCpu {
 public:
  // CPU used since the previous call, in % of one core (100 = one core busy); nullopt
  // on the first call or when the process cannot be read.
  std::optional<double> percent(pid_t pid, double now_s);

 private:
  double last_cpu_s_ = -1, last_t_s_ = -1;
};

}  // namespace tidal::fleet
