#include "http/client.h"

#include <boost/asio/connect.hpp>

#include "http/exchange.h"

namespace tidal::http {
awaitable<std::pair<error_code, ConnectionPtr>> ConnectionPool::connect(tcp::endpoint ep,
                                                                        std::chrono::milliseconds connect_timeout) {
  auto conn = std::make_unique<Connection>(ex_);
  conn->peer = ep;
  auto ec = co_await conn->stream.connect(ep, Stream::after(connect_timeout));
  if (ec) co_return std::pair{ec, ConnectionPtr{}};
  co_return std::pair{error_code{}, std::move(conn)};
}

ConnectionPtr ConnectionPool::take_idle(const tcp::endpoint& ep) {
  auto it = idle_.find(ep);
  if (it == idle_.end()) return nullptr;
  auto& list = it->second;
  const auto now = std::chrono::steady_clock::now();
  while (!list.empty()) {
    ConnectionPtr c = std::move(list.back());
    list.pop_back();
    if (now - c->idle_since < opts_.max_idle_time && c->stream.socket().is_open()) {
      c->reused = true;
      c->reusable = false;
      return c;
    }
  }
  return nullptr;
}

awaitable<std::pair<error_code, ConnectionPtr>> ConnectionPool::acquire(tcp::endpoint ep,
                                                                        std::chrono::milliseconds connect_timeout) {
  if (ConnectionPtr c = take_idle(ep)) co_return std::pair{error_code{}, std::move(c)};
  co_return co_await connect(ep, connect_timeout);
}

void ConnectionPool::release(ConnectionPtr conn) {
  if (!conn || !conn->reusable || conn->buffer.size() != 0) return;
  auto& list = idle_[conn->peer];
  if (list.size() >= opts_.max_idle_per_endpoint) return;
  if (opts_.rest_idle) conn->stream.rest();
  conn->idle_since = std::chrono::steady_clock::now();
  list.push_back(std::move(conn));
}

void ConnectionPool::forget(const tcp::endpoint& ep) { idle_.erase(ep); }

size_t ConnectionPool::idle_count() const {
  size_t n = 0;
  for (const auto& [k, v] : idle_) n += v.size();
  return n;
}

ResponseReader::ResponseReader(uint64_t body_limit) : body_limit_(body_limit) {}

void ResponseReader::reset() {
  body_read_ = 0;
  head_bytes_.clear();
  head_.clear();
  framing_ = Framing::kNone;
  left_ = 0;
  chunks_ = ChunkDecoder{};
  done_ = false;
}

awaitable<error_code> ResponseReader::read_header(Connection& c, std::chrono::milliseconds timeout) {
  const TimePoint deadline = Stream::after(timeout);
  ParseResult parsed = parse_response_head(c.buffer, head_);
  while (parsed.status == ParseStatus::kPartial) {
    if (c.buffer.size() > kHeadLimit) co_return bhttp::error::header_limit;
    const size_t had = c.buffer.size();
    const error_code ec = co_await c.stream.read_append(c.buffer, kHeadPiece, deadline);
    if (ec == asio::error::eof && had > 0) co_return bhttp::error::partial_message;
    if (ec) co_return ec;
    parsed = parse_response_head(c.buffer, head_);
  }
  if (parsed.status == ParseStatus::kError) co_return bhttp::error::bad_value;
  // The head moves into the reader (its fields are views), the rest stays as body bytes.
  head_bytes_.assign(c.buffer, 0, parsed.consumed);
  head_.rebase(std::string_view(c.buffer).substr(0, parsed.consumed), head_bytes_.data());
  c.buffer.erase(0, parsed.consumed);
  const unsigned s = head_.status;
  if (s < 200 || s == 204 || s == 304) {
    framing_ = Framing::kNone;
  } else if (head_.chunked) {
    framing_ = Framing::kChunked;
  } else if (head_.content_length) {
    if (*head_.content_length > body_limit_) co_return bhttp::error::body_limit;
    framing_ = Framing::kLength;
    left_ = *head_.content_length;
  } else {
    framing_ = Framing::kUntilClose;
  }
  done_ = framing_ == Framing::kNone || (framing_ == Framing::kLength && left_ == 0);
  co_return error_code{};
}

// Body bytes go straight into the caller's string (no buffer of the reader's own: an
// event stream waits for its next token holding only its small piece). Chunked bodies
// are decoded in place there.
size_t ResponseReader::piece_for(size_t piece) const {
  return framing_ == Framing::kLength ? static_cast<size_t>(std::min<uint64_t>(piece, left_)) : piece;
}

error_code ResponseReader::account(Connection& c, std::string& out, size_t at) {
  size_t n = out.size() - at;
  switch (framing_) {
    case Framing::kLength:
      left_ -= n;
      done_ = left_ == 0;
      break;
    case Framing::kChunked: {
      const auto r = chunks_.decode(out.data() + at, n);
      if (r.error) return bhttp::error::bad_chunk;
      if (r.used < n) c.buffer.insert(0, out, at + r.used, n - r.used);  // past the body's end
      out.resize(at + r.kept);
      n = r.kept;
      done_ = chunks_.done();
      break;
    }
    case Framing::kUntilClose:
    case Framing::kNone:
      break;
  }
  body_read_ += n;
  if (body_read_ > body_limit_) return bhttp::error::body_limit;
  return error_code{};
}

error_code ResponseReader::take_buffered(Connection& c, std::string& out, size_t piece) {
  const size_t at = out.size();
  const size_t n = std::min(piece_for(piece), c.buffer.size());
  out.append(c.buffer, 0, n);
  c.buffer.erase(0, n);
  return account(c, out, at);
}

error_code ResponseReader::after_read(Connection& c, std::string& out, size_t at, error_code ec) {
  if (ec == asio::error::eof && framing_ == Framing::kUntilClose) {
    done_ = true;
    return error_code{};
  }
  if (ec == asio::error::eof) return bhttp::error::partial_message;
  if (ec) return ec;
  return account(c, out, at);
}

bool ResponseReader::read_buffered(Connection& c, std::string& out, error_code& ec) {
  while (!done_ && !c.buffer.empty() && !ec) ec = take_buffered(c, out, kBodyPiece);
  return done_ || ec;
}

awaitable<error_code> ResponseReader::read_some(Connection& c, std::string& out, std::chrono::milliseconds timeout) {
  out.clear();
  while (!done_ && out.empty()) {
    error_code ec;
    if (!c.buffer.empty()) {  // bytes that came with the head or the previous piece
      ec = take_buffered(c, out, kStreamPiece);
    } else {
      const size_t at = out.size();
      ec = co_await c.stream.read_append(out, piece_for(kStreamPiece), Stream::after(timeout));
      ec = after_read(c, out, at, ec);
    }
    if (ec) co_return ec;
  }
  co_return error_code{};
}

awaitable<error_code> ResponseReader::read_all(Connection& c, std::string& out, std::chrono::milliseconds timeout) {
  while (!done_) {
    error_code ec;
    if (!c.buffer.empty()) {
      ec = take_buffered(c, out, kBodyPiece);
    } else {
      const size_t at = out.size();
      ec = co_await c.stream.read_append(out, piece_for(kBodyPiece), Stream::after(timeout));
      ec = after_read(c, out, at, ec);
    }
    if (ec) co_return ec;
  }
  co_return error_code{};
}

std::string serialize(const Request& req) {
  std::string out;
  out.reserve(256 + req.body().size());
  out.append(req.method_string()).append(" ").append(req.target()).append(req.version() == 10 ? " HTTP/1.0\r\n" : " HTTP/1.1\r\n");
  for (const auto& f : req) append_field(out, f.name_string(), f.value());
  out.append("\r\n").append(req.body());
  return out;
}

std::string SimpleResponse::header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (iequals(k, name)) return v;
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
    const std::string bytes = serialize(req);
    ResponseReader& reader = conn->reader;
    reader.reset();
    error_code ec = co_await conn->stream.write(bytes, Stream::after(timeout));
    if (!ec) ec = co_await reader.read_header(*conn, timeout);
    if (ec && reused) continue;  // a stale keep-alive connection: one fresh try
    if (ec) co_return std::pair{ec, out};
    out.status = reader.status();
    out.content_type = std::string(reader.header().find("content-type"));
    for (const auto& f : reader.header().fields) out.headers.emplace_back(f.name, f.value);
    ec = co_await reader.read_all(*conn, out.body, timeout);
    if (ec) co_return std::pair{ec, out};
    conn->reusable = reader.keep_alive();
    pool.release(std::move(conn));
    co_return std::pair{error_code{}, out};
  }
  co_return std::pair{error_code(asio::error::connection_reset), out};
}

}  // namespace tidal::http
