// Graceful shutdown for the subcommands: block SIGINT/SIGTERM in every thread (call
// before starting any), then wait for one on the main thread.
#pragma once

namespace tidal {

void block_shutdown_signals();
// Returns the signal number received.
int wait_for_shutdown_signal();

}  // namespace tidal
