// Engine replicas run as local child processes (the embedded default of `tidal
// serve`): each gets a free loopback port, is stopped with SIGTERM (then SIGKILL), and
// dies with its parent (PR_SET_PDEATHSIG).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

#include "common/error.h"

namespace tidal::fleet {

struct LocalProcess {
  pid_t pid = -1;
  uint16_t port = 0;
  std::string url;  // http://127.0.0.1:<port>
  bool stopping = false;                          // terminate() was called
  std::chrono::steady_clock::time_point kill_at;  // SIGKILL if still alive then
};

struct ExitedProcess {
  pid_t pid = -1;
  int code = 0;          // exit code, or 128 + signal
  bool expected = false; // it was told to stop
};

class LocalReplicas {
 public:
  LocalReplicas() = default;
  ~LocalReplicas();
  LocalReplicas(const LocalReplicas&) = delete;
  LocalReplicas& operator=(const LocalReplicas&) = delete;

  // Starts `command args... --port P`; returns the process and its address.
  Result<LocalProcess> spawn(const std::vector<std::string>& command, const std::vector<std::string>& args);
  // SIGTERM now and SIGKILL after `grace` if it is still running (reap() sends it).
  // Returns at once.
  void terminate(pid_t pid, std::chrono::milliseconds grace);
  // Collects children that exited (told to stop, or crashed) without blocking, and
  // SIGKILLs the ones past their grace period.
  std::vector<ExitedProcess> reap();
  // SIGTERM to all, wait up to `grace_s`, then SIGKILL.
  void stop_all(double grace_s = 5.0);
  [[nodiscard]] const std::vector<LocalProcess>& processes() const { return procs_; }

 private:
  std::vector<LocalProcess> procs_;
};

// A port that was free a moment ago on 127.0.0.1 (bind to 0, read, close).
[[nodiscard]] Result<uint16_t> pick_free_port();

}  // namespace tidal::fleet
