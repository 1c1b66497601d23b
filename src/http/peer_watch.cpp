#include "http/peer_watch.h"

namespace tidal::http {

// Waits for the client socket to become readable, then peeks: bytes are a pipelined
// request, to be read after this one; end of stream or a reset is the client leaving.
// Not a speculative MSG_PEEK read: one that saw the end of the stream before the
// handler finished made Asio stop trying reads speculatively on that socket, and the
// session's next read then waited for an edge that never came, until the idle
// timeout. The socket outlives the wait's handler while the watch is armed (the
// session cancels the wait and bumps the generation before it closes the socket).
void arm_watch(tcp::socket& socket, const std::shared_ptr<PeerWatch>& w) {
  w->armed = true;
  socket.async_wait(tcp::socket::wait_read, [w, gen = w->generation, &socket](error_code ec) {
    if (ec == asio::error::operation_aborted) return;  // the request ended first
    if (gen != w->generation || !w->armed) return;     // that request is over
    char probe = 0;
    const size_t n = socket.receive(asio::buffer(&probe, 1), tcp::socket::message_peek, ec);
    if (ec == asio::error::would_block || ec == asio::error::try_again) {
      arm_watch(socket, w);  // a spurious wake-up
      return;
    }
    w->armed = false;
    if (!ec && n > 0) return;  // a pipelined request: read after this one
    w->left = true;            // eof or reset
    w->cancel.emit(asio::cancellation_type::terminal);
  });
}

void release_idle_buffer(PeerWatch& w) {
  if (w.idle_buffer && w.idle_buffer->empty()) std::string().swap(*w.idle_buffer);
  w.idle_buffer = nullptr;
}

void WatchSweep::start(const std::shared_ptr<PeerWatch>& w, tcp::socket& socket) {
  if (after_.count() <= 0) {
    release_idle_buffer(*w);
    armed_.fetch_add(1, std::memory_order_relaxed);
    arm_watch(socket, w);
    return;
  }
  w->socket = &socket;
  w->since = std::chrono::steady_clock::now();
  w->prev = tail_;
  w->next = nullptr;
  (tail_ ? tail_->next : head_) = w.get();
  tail_ = w.get();
  w->listed = true;
  if (!waiting_) sweep();
}

void WatchSweep::stop(PeerWatch& w, tcp::socket& socket) {
  w.idle_buffer = nullptr;
  if (w.listed) unlink(w);
  if (w.armed) {
    // The wait is still pending: take it off the socket now, or the next request's
    // bytes would wake it for nothing (one more system call per request).
    w.armed = false;
    error_code ignored;
    socket.cancel(ignored);
  }
}

void WatchSweep::unlink(PeerWatch& w) {
  (w.prev ? w.prev->next : head_) = w.next;
  (w.next ? w.next->prev : tail_) = w.prev;
  w.prev = w.next = nullptr;
  w.listed = false;
  w.socket = nullptr;
}

void WatchSweep::sweep() {
  // Watches due within a quarter of `after` are armed now: the timer wakes at most
  // four times per `after` however many handlers start.
  const auto due = std::chrono::steady_clock::now() + after_ / 4;
  while (head_ && head_->since + after_ <= due) {
    PeerWatch& w = *head_;
    tcp::socket& socket = *w.socket;
    unlink(w);
    release_idle_buffer(w);
    armed_.fetch_add(1, std::memory_order_relaxed);
    arm_watch(socket, w.shared_from_this());
  }
  waiting_ = head_ != nullptr;
  if (!waiting_) return;
  // Handlers that end before the timer fires leave the list; the timer is not moved
  // for them.
  timer_.expires_at(head_->since + after_);
  timer_.async_wait([this](error_code ec) {
    if (ec == asio::error::operation_aborted) return;
    sweep();
  });
}

}  // namespace tidal::http
