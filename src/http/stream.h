// A TCP socket whose operations end at a deadline, for the proxy's hot path.
//
// One timer per socket, armed lazily: an operation records its deadline and the timer
// is re-armed only when that deadline is earlier than the one it waits for; when it
// fires and the pending operation's deadline is still ahead, it waits again. With the
// same timeouts on every exchange deadlines only grow, so a keep-alive connection
// touches its timer about once per timeout period instead of twice per operation
// (Beast's tcp_stream re-arms, and so cancels and completes, a timer on each one).
// Writes try the socket at once (a response usually fits the send buffer) and suspend
// only for what it did not take.
//
// Not thread-safe: use it on its executor's thread. A timed-out operation returns
// beast::error::timeout, as tcp_stream's did.
#pragma once

#include <memory>
#include <span>

#include "common/clock.h"
#include "http/types.h"

namespace tidal::http {

class Stream {
 public:
  static constexpr TimePoint kNoDeadline = TimePoint::max();

  explicit Stream(asio::any_io_executor ex);
  explicit Stream(tcp::socket socket);
  ~Stream();
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;

  [[nodiscard]] tcp::socket& socket();

  awaitable<error_code> connect(const tcp::endpoint& ep, TimePoint deadline);
  // Reads what is there (at least one byte) into `buf`.
  awaitable<std::pair<error_code, size_t>> read_some(asio::mutable_buffer buf, TimePoint deadline);
  // The same, appending up to `most` bytes to `out`.
  awaitable<error_code> read_append(std::string& out, size_t most, TimePoint deadline);
  // Writes all of `buffers`.
  awaitable<error_code> write(std::span<const asio::const_buffer> buffers, TimePoint deadline);
  // The same in two steps, for callers that would rather not have a coroutine frame for
  // a write the socket takes at once: try_write() writes what the socket takes now (one
  // sendmsg); would_block means `sent` bytes were written and write_rest() must follow.
  error_code try_write(std::span<const asio::const_buffer> buffers, size_t& sent);
  awaitable<error_code> write_rest(std::span<const asio::const_buffer> buffers, size_t sent, TimePoint deadline);
  awaitable<error_code> write(std::string_view bytes, TimePoint deadline);
  // Closes the socket; pending operations complete with operation_aborted.
  void close();
  // Disarms the timer of a stream that waits for nothing (a pooled connection), so it
  // does not keep its event loop running until the timer fires.
  void rest();

  // A deadline `timeout` from now (none if zero).
  [[nodiscard]] static TimePoint after(std::chrono::milliseconds timeout);

 private:
  struct Core;
  // Records the pending operation's deadline; arms the timer if it would fire too late.
  void arm(TimePoint deadline);
  // The operation ended: a timeout turns its error into beast::error::timeout.
  error_code settle(error_code ec);

  std::shared_ptr<Core> core_;  // shared with the timer's handler, which may outlive us
};

}  // namespace tidal::http
