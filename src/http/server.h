// An HTTP/1.1 server: one event loop per thread, each with its own SO_REUSEPORT
// acceptor (share nothing), one coroutine per connection. A handler runs per request;
// while it runs the connection is watched, and a client that disconnects cancels the
// handler (its pending operation completes with operation_aborted, the session's
// cancellation slot is emitted; see PeerWatch in server.cpp).
//
//   Server server({.port = 0, .threads = 2}, handler);
//   server.listen(); server.start(); ... server.stop(); server.join();
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "http/exchange.h"
#include "http/server_request.h"
#include "http/types.h"

namespace tidal::http {

using Handler = std::function<awaitable<void>(ServerRequest&, Exchange&)>;
// Builds the response for a request the server rejects itself (unparseable, too large).
using ErrorResponder = std::function<Response(bhttp::status, std::string_view message)>;

struct ServerOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 0;                              // 0: an ephemeral port
  unsigned threads = 1;                           // event loops; REQUIRES: >= 1
  uint64_t max_body_bytes = 1 << 20;              // larger bodies get 413
  std::chrono::milliseconds idle_timeout{75000};  // keep-alive idle and header read limit
  std::chrono::milliseconds write_timeout{0};     // a client that reads nothing this long is dropped; 0 = none
  uint32_t max_connections = 0;                   // open client connections; more get 503 and are closed; 0 = no cap
  int send_buffer_bytes = 0;                      // SO_SNDBUF of client sockets (nginx listen sndbuf=); 0 = the OS's
  bool watch_disconnect = true;                   // cancel handlers when the client leaves
  // How long a handler runs before its client is watched: a request answered sooner
  // costs no watch (arming one is a system call); one that runs longer is cancelled
  // when its client leaves. 0: from the handler's start.
  std::chrono::milliseconds watch_after{50};
  std::string server_name = "tidal";
};

// An io_context whose pending handlers (suspended coroutine frames) can be destroyed on
// demand, while the objects they refer to are still alive.
class Loop : public asio::io_context {
 public:
  using asio::io_context::io_context;
  void destroy_handlers() { shutdown(); }
};

struct ServerStats {
  std::atomic<uint64_t> connections_open{0};
  std::atomic<uint64_t> connections_total{0};
  std::atomic<uint64_t> requests_total{0};
  std::atomic<uint64_t> internal_errors{0};
  std::atomic<uint64_t> requests_active{0};       // handlers running
  std::atomic<uint64_t> connections_refused{0};   // over max_connections
  std::atomic<uint64_t> watches_armed{0};         // handlers whose client was watched (ran past watch_after)
};

struct PeerWatch;
class WatchSweep;

class Server {
 public:
  Server(ServerOptions opts, Handler handler, ErrorResponder on_error = {});
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds the listening sockets and starts accepting; throws on failure. May be called
  // before or after start() (an engine in cold start listens late).
  void listen();
  // Runs the event loops, one thread each.
  void start();
  // Stops accepting and stops every loop; connections are closed.
  void stop();
  // Graceful drain, step one: stop accepting new connections; requests already read
  // run to the end and answer with "Connection: close". Watch stats().requests_active.
  void stop_accepting();
  void join();
  // After join(): destroys every suspended coroutine (sessions, handlers, background
  // loops). Owners call it first in their destructors, so frames that touch the owner's
  // members die while those members exist.
  void shutdown();

  [[nodiscard]] uint16_t port() const { return port_; }
  [[nodiscard]] bool listening() const { return listening_; }
  [[nodiscard]] asio::io_context& loop(size_t i) { return *loops_[i]; }
  [[nodiscard]] const asio::io_context& loop(size_t i) const { return *loops_[i]; }
  [[nodiscard]] size_t loops() const { return loops_.size(); }
  [[nodiscard]] const ServerStats& stats() const { return stats_; }
  [[nodiscard]] const ServerOptions& options() const { return opts_; }

 private:
  awaitable<void> accept_loop(tcp::acceptor& acceptor, WatchSweep& sweep);
  void spawn_accept_loop(tcp::acceptor& acceptor, WatchSweep& sweep);
  void count_failure(std::exception_ptr e, std::string_view what);
  awaitable<void> session(tcp::socket socket, std::shared_ptr<PeerWatch> watch, WatchSweep& sweep);

  ServerOptions opts_;
  Handler handler_;
  ErrorResponder on_error_;
  ServerStats stats_;  // before loops_: session frames destroyed with the loops update it
  std::vector<std::unique_ptr<Loop>> loops_;
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> guards_;
  std::vector<std::unique_ptr<tcp::acceptor>> acceptors_;
  // One per loop, after loops_: destroyed first, while their timers' loops exist (and
  // alive while shutdown() destroys the sessions that are listed in them).
  std::vector<std::unique_ptr<WatchSweep>> sweeps_;
  std::vector<std::thread> threads_;
  uint16_t port_ = 0;
  std::atomic<bool> listening_{false};
  std::atomic<bool> draining_{false};
};

}  // namespace tidal::http
