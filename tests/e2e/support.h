// Helpers for end-to-end tests: real `tidal` processes on ephemeral loopback ports,
// a blocking HTTP client, condition waits (never fixed sleeps) and metric lookups.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "http/client.h"
#include "support/paths.h"

namespace tidal::e2e {

// A child process (the tidal binary unless `exe` is given); killed (SIGKILL) when destroyed.
class Process {
 public:
  Process(std::vector<std::string> args, std::vector<std::string> env = {}, std::string exe = testing_paths::tidal_binary());
  ~Process();
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  void signal(int sig);
  // Exit code (or 128+signal), or nullopt if still running after `timeout`.
  std::optional<int> wait(std::chrono::milliseconds timeout);
  [[nodiscard]] pid_t pid() const { return pid_; }
  [[nodiscard]] std::string log() const;  // stdout + stderr so far

 private:
  pid_t pid_ = -1;
  std::string log_path_;
  std::optional<int> exit_;
};

// A port nothing listens on now (for a process that must be told its port before it
// binds, e.g. to restart a replica on the same address); prefer port 0 + logged_port.
uint16_t free_port();
// The port a process started with --port 0 bound, from its log line "<marker>... port=N"
// (0 if none appears within 20 s).
uint16_t logged_port(const Process& p, std::string_view marker);
// The port a `tidal gateway|serve` started with port 0 listens on (0 if it never logs it).
uint16_t gateway_port(const Process& p);
// A name unique to this test process (ctest runs each test in its own process), for files.
std::string unique(const std::string& stem);

struct Reply {
  bool ok = false;            // a response arrived
  std::string error;          // transport error otherwise
  unsigned status = 0;
  std::string body;
  http::SimpleResponse raw;
};

Reply call(uint16_t port, std::string_view method, std::string_view target, std::string body = {},
           std::chrono::milliseconds timeout = std::chrono::milliseconds(30000));
using Fields = std::vector<std::pair<std::string, std::string>>;
// With request headers (Authorization, x-tidal-priority, ...).
Reply call(uint16_t port, std::string_view method, std::string_view target, std::string body, const Fields& headers,
           std::chrono::milliseconds timeout = std::chrono::milliseconds(30000));

// Polls `cond` every 20 ms until true or `timeout`; returns the last result.
bool wait_until(const std::function<bool()>& cond, std::chrono::milliseconds timeout);

// Value of the first sample whose line starts with `series` (name{labels} as printed),
// or nullopt.
std::optional<double> metric(const std::string& exposition, const std::string& series);
// Sum over all samples of a metric name whose labels contain `label_filter`.
double metric_sum(const std::string& exposition, const std::string& name, const std::string& label_filter = "");

// Starts `tidal engine` on a free port and waits until /health is 200.
struct Engine {
  uint16_t port = 0;
  std::unique_ptr<Process> proc;
};
Engine start_engine(std::vector<std::string> extra = {});
// Starts `tidal gateway` in front of `replicas` and waits until `ready` are ready.
struct Gateway {
  uint16_t port = 0;
  std::unique_ptr<Process> proc;
};
Gateway start_gateway(const std::vector<uint16_t>& replicas, size_t ready, std::vector<std::string> extra = {},
                      std::vector<std::string> env = {});

std::string url(uint16_t port);

// A whole file ("" if it cannot be read), or a JSON object file (bench and simulate reports).
std::string read_file(const std::string& path);
boost::json::object read_json(const std::string& path);

// Writes `text` to `name` in the test temp directory; returns the path.
std::string write_temp(const std::string& name, const std::string& text);
// GET /admin/scaling of a `tidal serve`, parsed; null when it does not answer 200.
boost::json::value admin_scaling(uint16_t port);
std::string chat_body(std::string_view content, uint32_t max_tokens, bool stream = false);

}  // namespace tidal::e2e
