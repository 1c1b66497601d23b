#include "e2e/support.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <algorithm>

#include "common/child_process.h"
#include "fleet/local_replicas.h"

namespace tidal::e2e {

Process::Process(std::vector<std::string> args, std::vector<std::string> env, std::string exe) {
  static int counter = 0;
  log_path_ = "/tmp/tidal-e2e-" + std::to_string(::getpid()) + "-" + std::to_string(counter++) + ".log";
  args.insert(args.begin(), exe);
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  const pid_t parent = ::getpid();
  pid_ = ::fork();
  if (pid_ == 0) {
    // A crashed test must not leave servers behind.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(1);
    const int fd = ::open(log_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(fd, 1);
    ::dup2(fd, 2);
    for (auto& e : env) ::putenv(e.data());
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
}

Process::~Process() {
  if (!exit_) {
    ::kill(pid_, SIGKILL);
    int st = 0;
    ::waitpid(pid_, &st, 0);
  }
  ::unlink(log_path_.c_str());
}

void Process::signal(int sig) { ::kill(pid_, sig); }

std::optional<int> Process::wait(std::chrono::milliseconds timeout) {
  if (!exit_) exit_ = wait_child(pid_, timeout);
  return exit_;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

boost::json::object read_json(const std::string& path) { return boost::json::parse(read_file(path)).as_object(); }

std::string Process::log() const { return read_file(log_path_); }

uint16_t free_port() { return *fleet::pick_free_port(); }

Reply call(uint16_t port, std::string_view method, std::string_view target, std::string body,
           std::chrono::milliseconds timeout) {
  return call(port, method, target, std::move(body), {}, timeout);
}

Reply call(uint16_t port, std::string_view method, std::string_view target, std::string body, const Fields& headers,
           std::chrono::milliseconds timeout) {
  http::asio::io_context ctx;
  http::ConnectionPool pool(ctx.get_executor());
  http::Request req{http::bhttp::string_to_verb(method), target, 11};
  req.set(http::bhttp::field::host, "127.0.0.1");
  for (const auto& [k, v] : headers) req.set(k, v);
  if (!body.empty()) req.set(http::bhttp::field::content_type, "application/json");
  req.body() = std::move(body);
  Reply out;
  http::asio::co_spawn(
      ctx, http::fetch(pool, http::tcp::endpoint(http::asio::ip::make_address("127.0.0.1"), port), std::move(req), timeout),
      [&](std::exception_ptr e, std::pair<http::error_code, http::SimpleResponse> r) {
        if (e) {
          out.error = "exception";
          return;
        }
        if (r.first) {
          out.error = r.first.message();
          return;
        }
        out.ok = true;
        out.status = r.second.status;
        out.body = r.second.body;
        out.raw = std::move(r.second);
      });
  ctx.run();
  return out;
}

bool wait_until(const std::function<bool()>& cond, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    if (cond()) return true;
    if (std::chrono::steady_clock::now() > deadline) return false;
    // The poll period: the conditions are remote state (health, metrics) with no push.
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

std::optional<double> metric(const std::string& text, const std::string& series) {
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(series + " ", 0) == 0) return std::stod(line.substr(series.size() + 1));
  }
  return std::nullopt;
}

double metric_sum(const std::string& text, const std::string& name, const std::string& filter) {
  std::istringstream in(text);
  std::string line;
  double sum = 0;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    const size_t end = line.find_first_of("{ ");
    if (line.substr(0, end) != name) continue;
    if (!filter.empty() && line.find(filter) == std::string::npos) continue;
    sum += std::stod(line.substr(line.rfind(' ') + 1));
  }
  return sum;
}

std::string url(uint16_t port) { return "http://127.0.0.1:" + std::to_string(port); }

std::string chat_body(std::string_view content, uint32_t max_tokens, bool stream) {
  std::string b = R"({"messages":[{"role":"user","content":")" + std::string(content) + R"("}],"max_tokens":)" +
                  std::to_string(max_tokens);
  if (stream) b += R"(,"stream":true,"stream_options":{"include_usage":true})";
  return b + "}";
}

uint16_t logged_port(const Process& p, std::string_view marker) {
  uint16_t port = 0;
  wait_until([&] {
    const std::string log = p.log();
    const size_t at = log.find(marker);
    const size_t eq = at == std::string::npos ? at : log.find("port=", at);
    if (eq == std::string::npos) return false;
    port = static_cast<uint16_t>(std::strtoul(log.c_str() + eq + 5, nullptr, 10));
    return port != 0;
  }, std::chrono::seconds(20));
  return port;
}

uint16_t gateway_port(const Process& p) { return logged_port(p, "listening host="); }

std::string unique(const std::string& stem) { return stem + "_" + std::to_string(::getpid()); }

Engine start_engine(std::vector<std::string> extra) {
  Engine e;
  // Port 0: the kernel picks a free port and the engine logs it (no race with other tests).
  std::vector<std::string> args = {"engine", "--port", "0"};
  if (std::find(extra.begin(), extra.end(), "--preset") == extra.end()) {
    args.insert(args.end(), {"--preset", "cpu-tiny"});
  }
  args.insert(args.end(), extra.begin(), extra.end());
  e.proc = std::make_unique<Process>(args);
  e.port = logged_port(*e.proc, "ready port=");
  if (e.port == 0) ADD_FAILURE() << "engine did not log its port: " << e.proc->log();
  if (!wait_until([&] { return call(e.port, "GET", "/health", {}, std::chrono::milliseconds(500)).status == 200; },
                  std::chrono::seconds(20))) {
    ADD_FAILURE() << "engine did not become healthy: " << e.proc->log();
  }
  return e;
}

Gateway start_gateway(const std::vector<uint16_t>& replicas, size_t ready, std::vector<std::string> extra,
                      std::vector<std::string> env) {
  Gateway g;
  std::vector<std::string> args = {"gateway", "--port", "0", "--threads", "2"};
  for (auto p : replicas) {
    args.push_back("--replica");
    args.push_back(url(p));
  }
  args.insert(args.end(), extra.begin(), extra.end());
  env.insert(env.begin(), "TIDAL_HEALTH__INTERVAL_MS=100");  // fast readiness in tests
  g.proc = std::make_unique<Process>(args, env);
  g.port = logged_port(*g.proc, "listening host=");
  if (g.port == 0) ADD_FAILURE() << "gateway did not log its port: " << g.proc->log();
  const std::string want = "\"ready_replicas\":" + std::to_string(ready);
  if (!wait_until([&] { return call(g.port, "GET", "/healthz", {}, std::chrono::milliseconds(500)).body.find(want) != std::string::npos; },
                  std::chrono::seconds(20))) {
    ADD_FAILURE() << "gateway did not report " << want << ": " << g.proc->log();
  }
  return g;
}

std::string write_temp(const std::string& name, const std::string& text) {
  const std::string path = ::testing::TempDir() + "/" + name;
  std::ofstream(path) << text;
  return path;
}

boost::json::value admin_scaling(uint16_t port) {
  auto r = call(port, "GET", "/admin/scaling", {}, std::chrono::milliseconds(1000));
  return r.status == 200 ? boost::json::parse(r.body) : boost::json::value();
}

}  // namespace tidal::e2e
