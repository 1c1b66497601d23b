#include "http/client.h"

#include <boost/asio/connect.hpp>

namespace tidal::http {
awaitable<std::pair<error_code, ConnectionPtr>> ConnectionPool::connect(tcp::endpoint ep,
                                                                        std::chrono::milliseconds connect_timeout) {
  auto conn = std::make_unique<Connection>(ex_);
  conn->peer = ep;
  conn->stream.expires_after(connect_timeout);
  auto [ec] = co_await conn->stream.async_connect(ep, use_tuple);
  conn->stream.expires_never();
  if (ec) co_return std::pair{ec, ConnectionPtr{}};
  error_code ignored;
  conn->stream.socket().set_option(tcp::no_delay(true), ignored);
  co_return std::pair{error_code{}, std::move(conn)};
}

awaitable<std::pair<error_code, ConnectionPtr>> ConnectionPool::acquire(tcp::endpoint ep,
                                                                        std::chrono::milliseconds connect_timeout) {
  auto it = idle_.find(ep);
  if (it != idle_.end()) {
    auto& list = it->second;
    const auto now = std::chrono::steady_clock::now();
    while (!list.empty()) {
      ConnectionPtr c = std::move(list.back());
      list.pop_back();
      if (now - c->idle_since < opts_.max_idle_time && c->stream.socket().is_open()) {
        c->reused = true;
        c->reusable = false;
        co_return std::pair{error_code{}, std::move(c)};
      }
    }
  }
  co_return co_await connect(ep, connect_timeout);
}

void ConnectionPool::release(ConnectionPtr conn) {
  if (!conn || !conn->reusable || conn->buffer.size() != 0) return;
  auto& list = idle_[conn->peer];
  if (list.size() >= opts_.max_idle_per_endpoint) return;
  conn->idle_since = std::chrono::steady_clock::now();
  list.push_back(std::move(conn));
}

void ConnectionPool::forget(const tcp::endpoint& ep) { idle_.erase(ep); }

size_t ConnectionPool::idle_count() const {
  size_t n = 0;
  for (const auto& [k, v] : idle_) n += v.size();
  return n;
}

ResponseReader::ResponseReader(uint64_t body_limit) {
  parser_.body_limit(body_limit);
  parser_.header_limit(64 * 1024);
}

awaitable<error_code> ResponseReader::read_header(Connection& c, std::chrono::milliseconds timeout) {
  c.stream.expires_after(timeout);
  auto [ec, n] = co_await bhttp::async_read_header(c.stream, c.buffer, parser_, use_tuple);
  c.stream.expires_never();
  co_return ec;
}

// Body bytes go straight into the caller's string (no buffer of the reader's own: an
// event stream waits for its next token holding only its small piece).
awaitable<error_code> ResponseReader::read_into(Connection& c, std::string& out, size_t piece,
                                                std::chrono::milliseconds timeout) {
  const size_t at = out.size();
  out.resize(at + piece);
  parser_.get().body().data = out.data() + at;
  parser_.get().body().size = piece;
  c.stream.expires_after(timeout);
  auto [ec, n] = co_await bhttp::async_read_some(c.stream, c.buffer, parser_, use_tuple);
  c.stream.expires_never();
  out.resize(at + piece - parser_.get().body().size);
  co_return ec == bhttp::error::need_buffer ? error_code{} : ec;
}

awaitable<error_code> ResponseReader::read_some(Connection& c, std::string& out, std::chrono::milliseconds timeout) {
  out.clear();
  while (!parser_.is_done() && out.empty()) {
    auto ec = co_await read_into(c, out, kStreamPiece, timeout);
    if (ec) co_return ec;
  }
  co_return error_code{};
}

awaitable<error_code> ResponseReader::read_all(Connection& c, std::string& out, std::chrono::milliseconds timeout) {
  while (!parser_.is_done()) {
    auto ec = co_await read_into(c, out, kBodyPiece, timeout);
    if (ec) co_return ec;
  }
  co_return error_code{};
}

std::string SimpleResponse::header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (beast::iequals(k, name)) return v;
  }
  return {};
}

Result<tcp::endpoint> resolve(const Url& url) {
  asio::io_context ctx;
  tcp::resolver resolver(ctx);
  error_code ec;
  auto results = resolver.resolve(url.host, std::to_string(url.port), ec);
  if (ec || results.empty()) {
    return make_error(ErrorKind::kInvalidRequest, "cannot resolve " + url.authority() + ": " + ec.message());
  }
  // Prefer IPv4 (engines usually listen on 127.0.0.1).
  for (const auto& r : results) {
    if (r.endpoint().address().is_v4()) return r.endpoint();
  }
  return results.begin()->endpoint();
}

awaitable<std::pair<error_code, SimpleResponse>> fetch(ConnectionPool& pool, tcp::endpoint ep, Request req,
                                                       std::chrono::milliseconds timeout) {
  SimpleResponse out;
  for (int attempt = 0; attempt < 2; ++attempt) {
    std::pair<error_code, ConnectionPtr> got;
    if (attempt == 0) {
      got = co_await pool.acquire(ep, timeout);
    } else {
      got = co_await pool.connect(ep, timeout);  // GCC 12: no co_await inside ?:
    }
    auto& [cec, conn] = got;
    if (cec) co_return std::pair{cec, out};
    const bool reused = conn->reused;
    req.keep_alive(true);
    req.prepare_payload();
    conn->stream.expires_after(timeout);
    auto [wec, wn] = co_await bhttp::async_write(conn->stream, req, use_tuple);
    conn->stream.expires_never();
    ResponseReader reader;
    error_code ec = wec;
    if (!ec) ec = co_await reader.read_header(*conn, timeout);
    if (ec && reused) continue;  // a stale keep-alive connection: one fresh try
    if (ec) co_return std::pair{ec, out};
    out.status = reader.status();
    if (auto it = reader.header().find(bhttp::field::content_type); it != reader.header().end()) {
      out.content_type = std::string(it->value());
    }
    for (const auto& f : reader.header()) out.headers.emplace_back(f.name_string(), f.value());
    ec = co_await reader.read_all(*conn, out.body, timeout);
    if (ec) co_return std::pair{ec, out};
    conn->reusable = reader.keep_alive();
    pool.release(std::move(conn));
    co_return std::pair{error_code{}, out};
  }
  co_return std::pair{error_code(asio::error::connection_reset), out};
}

}  // namespace tidal::http
