#include "http/stream.h"

#include <algorithm>
#include <array>
#include <vector>

#include <boost/asio/write.hpp>

namespace tidal::http {

struct Stream::Core {
  Core(tcp::socket s) : socket(std::move(s)), timer(socket.get_executor()) {}
  tcp::socket socket;
  asio::steady_timer timer;
  TimePoint op_deadline = kNoDeadline;  // the pending operation's; none when idle
  TimePoint timer_at = kNoDeadline;     // when the armed timer fires; none when not armed
  bool timed_out = false;

  static void wait(const std::shared_ptr<Core>& core, TimePoint at) {
    core->timer_at = at;
    core->timer.expires_at(at);  // cancels a wait for a later time (its handler sees operation_aborted)
    core->timer.async_wait([core](error_code ec) {
      if (ec == asio::error::operation_aborted || core->timer_at == kNoDeadline) return;
      core->timer_at = kNoDeadline;
      if (core->op_deadline == kNoDeadline) return;  // nothing pending: stay unarmed
      if (std::chrono::steady_clock::now() >= core->op_deadline) {
        core->timed_out = true;
        error_code ignored;
        core->socket.cancel(ignored);  // the pending operation completes with operation_aborted
      } else {
        wait(core, core->op_deadline);
      }
    });
  }
};

Stream::Stream(asio::any_io_executor ex) : Stream(tcp::socket(ex)) {}

Stream::Stream(tcp::socket socket) : core_(std::make_shared<Core>(std::move(socket))) {}

Stream::~Stream() { close(); }

tcp::socket& Stream::socket() { return core_->socket; }

TimePoint Stream::after(std::chrono::milliseconds timeout) {
  return timeout.count() > 0 ? std::chrono::steady_clock::now() + timeout : kNoDeadline;
}

void Stream::rest() {
  if (core_->timer_at == kNoDeadline) return;
  core_->timer_at = kNoDeadline;
  core_->timer.cancel();
}

void Stream::close() {
  rest();
  error_code ignored;
  core_->socket.close(ignored);
}

void Stream::arm(TimePoint deadline) {
  core_->timed_out = false;
  core_->op_deadline = deadline;
  if (deadline < core_->timer_at) Core::wait(core_, deadline);
}

error_code Stream::settle(error_code ec) {
  core_->op_deadline = kNoDeadline;
  if (core_->timed_out) {
    core_->timed_out = false;
    return beast::error::timeout;
  }
  return ec;
}

awaitable<error_code> Stream::connect(const tcp::endpoint& ep, TimePoint deadline) {
  arm(deadline);
  auto [ec] = co_await core_->socket.async_connect(ep, use_tuple);
  ec = settle(ec);
  if (!ec) {
    core_->socket.set_option(tcp::no_delay(true), ec);
    core_->socket.non_blocking(true, ec);
  }
  co_return ec;
}

awaitable<std::pair<error_code, size_t>> Stream::read_some(asio::mutable_buffer buf, TimePoint deadline) {
  arm(deadline);
  auto [ec, n] = co_await core_->socket.async_read_some(buf, use_tuple);
  co_return std::pair{settle(ec), n};
}

awaitable<error_code> Stream::read_append(std::string& out, size_t most, TimePoint deadline) {
  const size_t at = out.size();
  out.resize(at + most);
  arm(deadline);  // the socket itself, not read_some(): one coroutine frame less per read
  auto [ec, n] = co_await core_->socket.async_read_some(asio::buffer(out.data() + at, most), use_tuple);
  out.resize(at + n);
  co_return settle(ec);
}

awaitable<error_code> Stream::write(std::string_view bytes, TimePoint deadline) {
  const std::array<asio::const_buffer, 1> one{asio::buffer(bytes.data(), bytes.size())};
  co_return co_await write(one, deadline);
}

error_code Stream::try_write(std::span<const asio::const_buffer> buffers, size_t& sent) {
  size_t total = 0;
  for (const auto& b : buffers) total += b.size();
  error_code ec;
  if (!core_->socket.non_blocking()) core_->socket.non_blocking(true, ec);
  sent = ec ? 0 : core_->socket.write_some(buffers, ec);
  if (!ec && sent == total) return error_code{};
  if (!ec || ec == asio::error::would_block || ec == asio::error::try_again) return asio::error::would_block;
  return ec;
}

awaitable<error_code> Stream::write_rest(std::span<const asio::const_buffer> buffers, size_t sent, TimePoint deadline) {
  std::vector<asio::const_buffer> rest;
  for (const auto& b : buffers) {
    if (sent >= b.size()) {
      sent -= b.size();
      continue;
    }
    rest.push_back(b + sent);
    sent = 0;
  }
  arm(deadline);
  auto [ec, n] = co_await asio::async_write(core_->socket, rest, use_tuple);
  co_return settle(ec);
}

awaitable<error_code> Stream::write(std::span<const asio::const_buffer> buffers, TimePoint deadline) {
  size_t sent = 0;
  const error_code ec = try_write(buffers, sent);
  if (ec != asio::error::would_block) co_return ec;
  co_return co_await write_rest(buffers, sent, deadline);
}

}  // namespace tidal::http
