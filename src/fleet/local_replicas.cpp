#include "fleet/local_replicas.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>

#include "common/child_process.h"
#include "common/log.h"

namespace tidal::fleet {

Result<uint16_t> pick_free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return make_error(ErrorKind::kInternal, std::string("socket: ") + std::strerror(errno));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    const std::string why = std::strerror(errno);
    ::close(fd);
    return make_error(ErrorKind::kInternal, "cannot find a free port: " + why);
  }
  ::close(fd);
  return ntohs(addr.sin_port);
}

Result<LocalProcess> LocalReplicas::spawn(const std::vector<std::string>& command, const std::vector<std::string>& args) {
  if (command.empty()) return make_error(ErrorKind::kInvalidRequest, "empty replica command");
  auto port = pick_free_port();
  if (!port) return port.error();
  std::vector<std::string> argv_s = command;
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  argv_s.push_back("--port");
  argv_s.push_back(std::to_string(*port));
  std::vector<char*> argv;
  for (auto& s : argv_s) argv.push_back(s.data());
  argv.push_back(nullptr);

  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) return make_error(ErrorKind::kInternal, std::string("fork: ") + std::strerror(errno));
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (::getppid() != parent) ::_exit(1);
    // The parent blocks shutdown signals for sigwait; the child must receive them.
    sigset_t all;
    sigfillset(&all);
    ::pthread_sigmask(SIG_UNBLOCK, &all, nullptr);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  LocalProcess p{pid, *port, "http://127.0.0.1:" + std::to_string(*port), false, {}};
  procs_.push_back(p);
  logger("fleet")->info("local replica started pid={} url={}", pid, p.url);
  return p;
}

void LocalReplicas::terminate(pid_t pid, std::chrono::milliseconds grace) {
  for (auto& p : procs_) {
    if (p.pid != pid || p.stopping) continue;
    ::kill(pid, SIGTERM);
    p.stopping = true;
    p.kill_at = std::chrono::steady_clock::now() + grace;
  }
}

std::vector<ExitedProcess> LocalReplicas::reap() {
  std::vector<ExitedProcess> out;
  const auto now = std::chrono::steady_clock::now();
  for (auto it = procs_.begin(); it != procs_.end();) {
    if (auto code = wait_child(it->pid, std::chrono::milliseconds(0))) {
      out.push_back({it->pid, *code, it->stopping});
      logger("fleet")->info("local replica exited pid={} url={} code={} expected={}", it->pid, it->url, *code,
                            it->stopping);
      it = procs_.erase(it);
      continue;
    }
    if (it->stopping && now >= it->kill_at) {
      logger("fleet")->warn("local replica ignored SIGTERM, killing pid={} url={}", it->pid, it->url);
      ::kill(it->pid, SIGKILL);
      it->kill_at = now + std::chrono::hours(24);
    }
    ++it;
  }
  return out;
}

void LocalReplicas::stop_all(double grace_s) {
  for (const auto& p : procs_) ::kill(p.pid, SIGTERM);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(grace_s);
  for (const auto& p : procs_) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (!wait_child(p.pid, std::max(left, std::chrono::milliseconds(0)))) {
      ::kill(p.pid, SIGKILL);
      wait_child(p.pid, std::chrono::milliseconds(5000));
    }
  }
  procs_.clear();
}

LocalReplicas::~LocalReplicas() { stop_all(); }

}  // namespace tidal::fleet
