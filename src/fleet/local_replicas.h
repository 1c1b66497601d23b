// Engine replicas run as local child processes (the embedded default of `tidal
// serve`): each gets a free loopback port, is stopped with SIGTERM (then SIGKILL), and
// dies with its parent (PR_SET_PDEATHSIG).
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "common/error.h"

namespace tidal::fleet {

struct LocalProcess {
  pid_t pid = -1;
  uint16_t port = 0;
  std::string url;  // http://127.0.0.1:<port>
};

class LocalReplicas {
 public:
  LocalReplicas() = default;
  ~LocalReplicas();
  LocalReplicas(const LocalReplicas&) = delete;
  LocalReplicas& operator=(const LocalReplicas&) = delete;

  // Starts `command args... --port P`; returns the process and its address.
  Result<LocalProcess> spawn(const std::vector<std::string>& command, const std::vector<std::string>& args);
  // SIGTERM to all, wait up to `grace_s`, then SIGKILL.
  void stop_all(double grace_s = 5.0);
  [[nodiscard]] const std::vector<LocalProcess>& processes() const { return procs_; }

 private:
  std::vector<LocalProcess> procs_;
};

// A port that was free a moment ago on 127.0.0.1 (bind to 0, read, close).
[[nodiscard]] Result<uint16_t> pick_free_port();

}  // namespace tidal::fleet
