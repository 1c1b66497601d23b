#include "http/server.h"

#include <array>
#include <tuple>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/socket_base.hpp>

#include "common/internal_errors.h"
#include "common/log.h"
#include "http/peer_watch.h"
#include "http/wire.h"

namespace tidal::http {

namespace {

using ReusePort = asio::detail::socket_option::boolean<SOL_SOCKET, SO_REUSEPORT>;

Response default_error(bhttp::status status, std::string_view message) {
  Response res{status, 11};
  res.set(bhttp::field::content_type, "text/plain");
  res.body() = std::string(message) + "\n";
  return res;
}

// What reading a request came to: ok, a status to answer with (then close), or
// `unknown` when the client left or went quiet (close without a word).
struct Reading {
  bhttp::status status = bhttp::status::ok;
  std::string message = {};
  bool keep_alive = false;  // ok: the connection persists after the answer
};

constexpr size_t kHeadLimit = 64 * 1024, kReadPiece = 2048;

// Reads one request (head and body; chunked bodies decoded) into `req`, by the idle
// deadline. Bytes past it stay in `buf` (a pipelined request).
awaitable<Reading> read_request(Stream& stream, std::string& buf, ServerRequest& req, const ServerOptions& opts) {
  const TimePoint deadline = Stream::after(opts.idle_timeout);
  Head head;  // here, not in the session: a long handler does not hold it
  ParseResult parsed = parse_request_head(buf, head);
  while (parsed.status == ParseStatus::kPartial) {
    // Never more than the limit in the buffer: a head is refused at 64 KB exactly.
    const size_t piece = std::min(std::max(kReadPiece, buf.size()), kHeadLimit - std::min(kHeadLimit, buf.size()));
    if (piece == 0) co_return Reading{bhttp::status::request_header_fields_too_large, "header larger than 64 KB"};
    const error_code ec = co_await stream.read_append(buf, piece, deadline);
    if (ec) co_return Reading{bhttp::status::unknown};
    parsed = parse_request_head(buf, head);
  }
  if (parsed.status == ParseStatus::kError) co_return Reading{bhttp::status::bad_request, std::string(parsed.error)};
  req.assign(head, std::string_view(buf).substr(0, parsed.consumed));
  const bool has_body = head.chunked || head.content_length.value_or(0) > 0;
  if (has_body && head.version >= 11 && buf.size() == parsed.consumed && iequals(head.find("expect"), "100-continue")) {
    // The client waits for a go-ahead before it sends the body (curl does, for large ones).
    constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
    const error_code ec = co_await stream.write(kContinue, deadline);
    if (ec) co_return Reading{bhttp::status::unknown};
  }
  std::string& body = req.body();
  if (head.chunked) {
    ChunkDecoder chunks;
    size_t at = parsed.consumed;  // the raw bytes still to decode start here
    while (true) {
      const auto r = chunks.decode(buf.data() + at, buf.size() - at);
      if (r.error) co_return Reading{bhttp::status::bad_request, "bad chunked encoding"};
      body.append(buf, at, r.kept);
      if (body.size() > opts.max_body_bytes) co_return Reading{bhttp::status::payload_too_large};
      if (chunks.done()) {
        buf.erase(0, at + r.used);
        break;
      }
      buf.resize(at);
      const error_code ec = co_await stream.read_append(buf, kReadPiece, deadline);
      if (ec) co_return Reading{bhttp::status::unknown};
    }
    co_return Reading{bhttp::status::ok, {}, head.keep_alive};
  }
  const uint64_t length = head.content_length.value_or(0);
  if (length > opts.max_body_bytes) co_return Reading{bhttp::status::payload_too_large};
  const size_t have = std::min<size_t>(static_cast<size_t>(length), buf.size() - parsed.consumed);
  body.assign(buf, parsed.consumed, have);
  buf.erase(0, parsed.consumed + have);
  if (have < length) {
    body.resize(static_cast<size_t>(length));
    for (size_t at = have; at < length;) {
      auto [ec, n] = co_await stream.read_some(asio::buffer(body.data() + at, body.size() - at), deadline);
      if (ec) co_return Reading{bhttp::status::unknown};
      at += n;
    }
  }
  co_return Reading{bhttp::status::ok, {}, head.keep_alive};
}

// The server's own answers, each in a short-lived frame of its own (not slots of the
// session's frame, which lives as long as the connection).
awaitable<void> answer(Exchange& ex, const ErrorResponder& on_error, bhttp::status status, std::string_view message) {
  co_await ex.respond(on_error(status, message));
}
awaitable<void> answer(Stream& stream, unsigned version, bool keep_alive, const ErrorResponder& on_error,
                       bhttp::status status, std::string_view message) {
  Exchange ex(stream, version, keep_alive);
  co_await answer(ex, on_error, status, message);
}

// After refusing a request whose bytes are still coming (a body over the limit, a head
// too large): stop sending, then read and discard for a while before closing, as
// nginx's lingering close does. Closing with unread bytes makes the kernel reset the
// connection, and a reset can destroy the answer before the client has read it.
awaitable<void> linger(Stream& stream) {
  error_code ec;
  stream.socket().shutdown(tcp::socket::shutdown_send, ec);
  const TimePoint deadline = Stream::after(std::chrono::seconds(2));
  std::array<char, 4096> sink;
  for (size_t total = 0; !ec && total < (8u << 20);) {
    size_t n = 0;
    std::tie(ec, n) = co_await stream.read_some(asio::buffer(sink), deadline);
    total += n;
  }
}

}  // namespace

Server::Server(ServerOptions opts, Handler handler, ErrorResponder on_error)
    : opts_(std::move(opts)), handler_(std::move(handler)), on_error_(std::move(on_error)) {
  if (!on_error_) on_error_ = default_error;
  if (opts_.threads == 0) opts_.threads = 1;
  for (unsigned i = 0; i < opts_.threads; ++i) {
    loops_.push_back(std::make_unique<Loop>(1));
    guards_.emplace_back(loops_.back()->get_executor());
    sweeps_.push_back(std::make_unique<WatchSweep>(loops_.back()->get_executor(), opts_.watch_after, stats_.watches_armed));
  }
}

Server::~Server() {
  stop();
  join();
  shutdown();
}

void Server::shutdown() {
  acceptors_.clear();
  for (auto& loop : loops_) loop->destroy_handlers();
}

void Server::listen() {
  const auto address = asio::ip::make_address(opts_.host);
  uint16_t port = opts_.port;
  for (auto& loop : loops_) {
    auto acceptor = std::make_unique<tcp::acceptor>(*loop);
    tcp::endpoint ep(address, port);
    acceptor->open(ep.protocol());
    acceptor->set_option(asio::socket_base::reuse_address(true));
    acceptor->set_option(ReusePort(true));
    acceptor->bind(ep);
    acceptor->listen(asio::socket_base::max_listen_connections);
    port = acceptor->local_endpoint().port();
    acceptors_.push_back(std::move(acceptor));
  }
  port_ = port;
  for (size_t i = 0; i < acceptors_.size(); ++i) spawn_accept_loop(*acceptors_[i], *sweeps_[i]);
  listening_ = true;
}

// The accept loop never dies silently: an exception is logged, counted, and the loop
// starts again while its acceptor is open.
void Server::spawn_accept_loop(tcp::acceptor& acceptor, WatchSweep& sweep) {
  asio::co_spawn(acceptor.get_executor(), accept_loop(acceptor, sweep), [this, &acceptor, &sweep](std::exception_ptr e) {
    if (!e) return;
    count_failure(e, "accept loop failed, restarting");
    if (acceptor.is_open()) spawn_accept_loop(acceptor, sweep);
  });
}

// A coroutine's last catch: counted (tidal_internal_errors_total) and logged.
void Server::count_failure(std::exception_ptr e, std::string_view what) {
  ++stats_.internal_errors;
  ++internal_errors();
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& ex) {
    logger("http")->error("{} error={}", what, ex.what());
  } catch (...) {
    logger("http")->error("{} error=unknown", what);
  }
}

void Server::start() {
  for (auto& loop : loops_) {
    threads_.emplace_back([ctx = loop.get()] { ctx->run(); });
  }
}

void Server::stop_accepting() {
  draining_ = true;
  for (size_t i = 0; i < acceptors_.size(); ++i) {
    asio::post(*loops_[i], [a = acceptors_[i].get()] {
      error_code ignored;
      a->close(ignored);
    });
  }
}

void Server::stop() {
  for (size_t i = 0; i < acceptors_.size(); ++i) {
    asio::post(*loops_[i], [a = acceptors_[i].get()] {
      error_code ignored;
      a->close(ignored);
    });
  }
  guards_.clear();
  for (auto& loop : loops_) loop->stop();
}

void Server::join() {
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
  threads_.clear();
}

awaitable<void> Server::accept_loop(tcp::acceptor& acceptor, WatchSweep& sweep) {
  auto log = logger("http");
  while (acceptor.is_open()) {
    auto [ec, socket] = co_await acceptor.async_accept(use_tuple);
    if (ec) {
      if (ec == asio::error::operation_aborted || !acceptor.is_open()) co_return;
      // Out of file descriptors and the like: log, back off briefly, keep serving.
      log->warn("accept failed error={}", ec.message());
      asio::steady_timer backoff(acceptor.get_executor(), std::chrono::milliseconds(50));
      co_await backoff.async_wait(use_tuple);
      continue;
    }
    socket.set_option(tcp::no_delay(true), ec);
    if (opts_.send_buffer_bytes > 0) socket.set_option(asio::socket_base::send_buffer_size(opts_.send_buffer_bytes), ec);
    if (opts_.max_connections > 0 && stats_.connections_open.load() >= opts_.max_connections) {
      // Over the cap: a short 503 on a small write, then close (the reader may be gone).
      ++stats_.connections_refused;
      static constexpr std::string_view kBusy =
          "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nRetry-After: 1\r\nConnection: close\r\n\r\n";
      socket.non_blocking(true, ec);
      socket.write_some(asio::buffer(kBusy), ec);
      socket.close(ec);
      continue;
    }
    // The session's cancellation slot is the disconnect watch's signal: cancelling
    // cancels whatever the session (i.e. its handler) is waiting for.
    auto watch = std::make_shared<PeerWatch>();
    auto slot = watch->cancel.slot();
    asio::co_spawn(acceptor.get_executor(), session(std::move(socket), watch, sweep),
                   asio::bind_cancellation_slot(slot, [this, watch](std::exception_ptr e) {
                     if (e) count_failure(e, "session failed");
                   }));
  }
}

awaitable<void> Server::session(tcp::socket socket, std::shared_ptr<PeerWatch> watch, WatchSweep& sweep) {
  ++stats_.connections_open;
  ++stats_.connections_total;
  struct Closing {
    ServerStats& s;
    ~Closing() { --s.connections_open; }
  } closing{stats_};

  error_code ec;
  socket.non_blocking(true, ec);
  Stream stream(std::move(socket));
  std::string buf;  // received, not yet parsed: a request head, its body, a pipelined next request
  ServerRequest req;  // one per connection: its head's bytes keep their capacity
  while (true) {
    const Reading read = co_await read_request(stream, buf, req, opts_);
    if (read.status != bhttp::status::ok) {
      if (read.status != bhttp::status::unknown) {
        const std::string why = read.status == bhttp::status::payload_too_large
                                    ? "request body exceeds the limit of " + std::to_string(opts_.max_body_bytes) + " bytes"
                                    : "malformed HTTP request: " + read.message;
        co_await answer(stream, 11, false, on_error_, read.status, why);
        co_await linger(stream);
      }
      break;
    }
    ++stats_.requests_total;
    Exchange ex(stream, req.version(), read.keep_alive, opts_.write_timeout);
    if (draining_) ex.no_keep_alive();
    ++stats_.requests_active;
    struct Active {
      ServerStats& s;
      ~Active() { --s.requests_active; }
    } active{stats_};
    bool failed = false;
    {
      // Watched while the handler runs: off the sweep's list and unwatched however it
      // ends (a frame destroyed at shutdown included).
      struct Watched {
        WatchSweep& sweep;
        PeerWatch& w;
        tcp::socket& socket;
        ~Watched() {
          ++w.generation;
          sweep.stop(w, socket);
        }
      } watched{sweep, *watch, stream.socket()};
      ++watch->generation;
      // Nothing buffered: the read buffer is given back if the handler runs long (an
      // event stream may run for minutes; the next request gets a fresh one).
      if (buf.empty()) watch->idle_buffer = &buf;
      if (opts_.watch_disconnect && buf.size() == 0) {
        sweep.start(watch, stream.socket());
      } else {
        release_idle_buffer(*watch);
      }
      try {
        co_await handler_(req, ex);
      } catch (const std::exception& e) {
        if (watch->left) break;  // cancelled because the client left: not a failure
        ++stats_.internal_errors;
        ++internal_errors();
        logger("http")->error("handler failed target={} error={}", std::string_view(req.target()), e.what());
        failed = true;
      }
    }
    const bool client_left = watch->left;
    if (failed) {
      if (!ex.started()) co_await answer(ex, on_error_, bhttp::status::internal_server_error, "internal error");
      break;
    }
    if (client_left) break;
    if (!ex.started()) {
      co_await answer(ex, on_error_, bhttp::status::internal_server_error, "handler sent no response");
    }
    if (!ex.keep_alive()) break;
  }
  error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
  stream.close();
}

}  // namespace tidal::http
