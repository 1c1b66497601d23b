#include "common/child_process.h"

#include <poll.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>

namespace tidal {
namespace {

std::optional<int> reap(pid_t pid, int options) {
  int status = 0;
  const pid_t r = ::waitpid(pid, &status, options);
  if (r == 0) return std::nullopt;
  if (r < 0) return -1;  // not our child (already reaped)
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

}  // namespace

std::optional<int> wait_child(pid_t pid, std::chrono::milliseconds timeout) {
  if (auto done = reap(pid, WNOHANG)) return done;
  const int fd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  if (fd < 0) return reap(pid, WNOHANG);
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    pollfd p{fd, POLLIN, 0};
    const int n = ::poll(&p, 1, static_cast<int>(std::max<int64_t>(0, left.count())));
    if (n < 0 && errno == EINTR) continue;
    ::close(fd);
    if (n > 0) return reap(pid, 0);
    return reap(pid, WNOHANG);  // timed out (the child may have exited just now)
  }
}

}  // namespace tidal
