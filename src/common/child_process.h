// Waiting for a child process with a timeout, without polling: a pidfd becomes
// readable when the child exits (Linux >= 5.3).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>

namespace tidal {

// The child's exit code (128 + signal if killed), or nullopt if it is still running
// after `timeout`. Reaps the child when it has exited.
std::optional<int> wait_child(pid_t pid, std::chrono::milliseconds timeout);

}  // namespace tidal
