// The disconnect watch of the server's connections (private to src/http/server.cpp).
//
// A handler's client is watched for leaving (end of stream or reset), which cancels
// the handler. Arming a watch costs a system call (Asio re-arms epoll for a wait on
// readability), so a handler is watched only once it has run for `watch_after`: the
// loop's WatchSweep lists the handlers that run, oldest first, and one timer arms the
// watch of each as it reaches that age. A request answered sooner costs nothing; a
// client that leaves sooner is noticed at that age (or when a write to it fails). The
// session's read buffer is given back at that age too.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <string>

#include "http/types.h"

namespace tidal::http {

struct PeerWatch : std::enable_shared_from_this<PeerWatch> {
  asio::cancellation_signal cancel;
  uint64_t generation = 0;  // bumped when a handler starts and when it ends
  bool armed = false;       // the current handler is watched
  bool left = false;        // the client left while a handler ran
  // The session's empty read buffer while a handler runs: given back when the handler
  // is watched, i.e. has run for `watch_after` (an event stream may run for minutes; a
  // quick answer keeps the buffer for the next request instead of allocating anew).
  std::string* idle_buffer = nullptr;
  // While listed in its loop's sweep (a handler runs, not yet watched):
  tcp::socket* socket = nullptr;
  std::chrono::steady_clock::time_point since{};
  PeerWatch* prev = nullptr;
  PeerWatch* next = nullptr;
  bool listed = false;
};

// Gives the session's read buffer back (if it is still empty).
void release_idle_buffer(PeerWatch& w);

// Starts watching `socket` for the client leaving, for the handler that runs now.
void arm_watch(tcp::socket& socket, const std::shared_ptr<PeerWatch>& w);

// One per event loop; used on that loop's thread only.
class WatchSweep {
 public:
  // `armed` counts the watches armed.
  WatchSweep(asio::any_io_executor ex, std::chrono::milliseconds after, std::atomic<uint64_t>& armed)
      : timer_(std::move(ex)), after_(after), armed_(armed) {}
  WatchSweep(const WatchSweep&) = delete;
  WatchSweep& operator=(const WatchSweep&) = delete;

  // A handler starts on `socket`: watched at once if `after` is 0, else listed.
  void start(const std::shared_ptr<PeerWatch>& w, tcp::socket& socket);
  // The handler ended: off the list, and its pending watch (if armed) cancelled.
  void stop(PeerWatch& w, tcp::socket& socket);

 private:
  void unlink(PeerWatch& w);
  // Arms the watches that are due; waits for the next one while any is listed.
  void sweep();

  asio::steady_timer timer_;
  std::chrono::milliseconds after_;
  std::atomic<uint64_t>& armed_;
  PeerWatch* head_ = nullptr;  // oldest
  PeerWatch* tail_ = nullptr;
  bool waiting_ = false;       // the timer waits for the head's time
};

}  // namespace tidal::http
