// The HTTP/1.1 client side: keep-alive connections to upstreams, pooled per event
// loop (not thread-safe: one pool per loop, share nothing), and a response reader
// that hands the body over piece by piece as it arrives (for SSE relaying).
#pragma once

#include <chrono>
#include <deque>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "common/error.h"
#include "http/stream.h"
#include "http/types.h"
#include "http/url.h"
#include "http/wire.h"

namespace tidal::http {

struct Connection;

// Reads one response: header first, then body pieces as the peer sends them. Parses
// with http/wire.h: the head is copied once and its fields are views of that copy.
class ResponseReader {
 public:
  explicit ResponseReader(uint64_t body_limit = 64ull << 20);
  awaitable<error_code> read_header(Connection& c, std::chrono::milliseconds timeout);
  // Ready for the next response (its buffers keep their capacity).
  void reset();
  // Replaces `out` with the next body bytes (possibly empty). Check done() after.
  awaitable<error_code> read_some(Connection& c, std::string& out, std::chrono::milliseconds timeout);
  // Reads the remaining body into `out` (appending).
  awaitable<error_code> read_all(Connection& c, std::string& out, std::chrono::milliseconds timeout);
  // The same without waiting: takes the body bytes already received (a small body
  // usually comes with its head). True when the body is complete, or failed (`ec`).
  bool read_buffered(Connection& c, std::string& out, error_code& ec);

  [[nodiscard]] bool done() const { return done_; }
  [[nodiscard]] const Head& header() const { return head_; }
  [[nodiscard]] unsigned status() const { return head_.status; }
  [[nodiscard]] bool keep_alive() const { return head_.keep_alive && framing_ != Framing::kUntilClose; }

 private:
  enum class Framing { kNone, kLength, kChunked, kUntilClose };
  // Body bytes appended to `out` from `at`: framing (chunks decoded in place), limits.
  error_code account(Connection& c, std::string& out, size_t at);
  // Up to `piece` body bytes from the connection's buffer.
  error_code take_buffered(Connection& c, std::string& out, size_t piece);
  // After a read that appended to `out` from `at`, or failed with `ec`.
  error_code after_read(Connection& c, std::string& out, size_t at, error_code ec);
  // `piece`, or less where the body ends sooner.
  [[nodiscard]] size_t piece_for(size_t piece) const;
  // Per stream, held while it waits: SSE events are a few hundred bytes; a body read
  // whole takes larger pieces.
  static constexpr size_t kStreamPiece = 1024, kBodyPiece = 4096, kHeadPiece = 1024, kHeadLimit = 64 * 1024;
  uint64_t body_limit_;
  uint64_t body_read_ = 0;
  std::string head_bytes_;  // what head_'s views point into
  Head head_;
  Framing framing_ = Framing::kNone;
  uint64_t left_ = 0;  // kLength: body bytes still to come
  ChunkDecoder chunks_;
  bool done_ = false;
};

struct Connection {
  explicit Connection(asio::any_io_executor ex) : stream(std::move(ex)) {}
  Stream stream;
  std::string buffer;  // bytes read but not yet parsed (none between responses)
  tcp::endpoint peer;
  bool reused = false;     // came from the idle pool (may have been closed by the peer)
  bool reusable = false;   // set by the user once a response completed with keep-alive
  std::chrono::steady_clock::time_point idle_since{};
  // The reader of the response in progress (reset() before each): here rather than in
  // the caller's coroutine frame, which it would take ~500 bytes of.
  ResponseReader reader;
};
using ConnectionPtr = std::unique_ptr<Connection>;

struct PoolOptions {
  size_t max_idle_per_endpoint = 256;
  std::chrono::milliseconds max_idle_time{4000};  // below llama-server's 5 s keep-alive
  // An idle connection's deadline timer is disarmed (Stream::rest) so that a pending
  // wait does not keep the event loop running (a client whose run() should return when
  // its work is done). A server whose loops run until stopped keeps it armed: disarming
  // and re-arming cost a timer cancel and a handler completion per request.
  bool rest_idle = true;
};

class ConnectionPool {
 public:
  explicit ConnectionPool(asio::any_io_executor ex, PoolOptions opts = {}) : ex_(std::move(ex)), opts_(opts) {}

  // An idle connection to `ep` or a new one. Errors: connection_refused, timed_out, ...
  awaitable<std::pair<error_code, ConnectionPtr>> acquire(tcp::endpoint ep,
                                                          std::chrono::milliseconds connect_timeout);
  // An idle connection to `ep` still fit for use, or null (no suspension: the hot
  // path takes one without a coroutine frame).
  ConnectionPtr take_idle(const tcp::endpoint& ep);
  // A new connection, never from the pool.
  awaitable<std::pair<error_code, ConnectionPtr>> connect(tcp::endpoint ep,
                                                          std::chrono::milliseconds connect_timeout);
  // Returns a connection; kept only if `reusable` and the pool has room.
  void release(ConnectionPtr conn);
  // Drops idle connections to `ep` (the replica went away).
  void forget(const tcp::endpoint& ep);
  [[nodiscard]] size_t idle_count() const;

 private:
  asio::any_io_executor ex_;
  PoolOptions opts_;
  std::unordered_map<tcp::endpoint, std::deque<ConnectionPtr>> idle_;  // std::hash from Asio
};

// The bytes of a request as sent: request line, fields, blank line, body.
[[nodiscard]] std::string serialize(const Request& req);

// Resolves a URL to one endpoint (blocking; call at configuration time).
[[nodiscard]] Result<tcp::endpoint> resolve(const Url& url);

struct SimpleResponse {
  unsigned status = 0;
  std::string content_type;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  [[nodiscard]] std::string header(std::string_view name) const;
};

// One whole request/response on a pooled connection, for control traffic (health
// checks, /v1/models, tests). `timeout` bounds the whole exchange.
awaitable<std::pair<error_code, SimpleResponse>> fetch(ConnectionPool& pool, tcp::endpoint ep,
                                                       Request req, std::chrono::milliseconds timeout);

}  // namespace tidal::http
