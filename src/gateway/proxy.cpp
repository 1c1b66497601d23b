#include "gateway/proxy.h"

#include "gateway/usage_meter.h"
#include "openai/error.h"

#include <algorithm>
#include <array>

namespace tidal::gateway {
namespace {

namespace bhttp = http::bhttp;
using std::chrono::milliseconds;

milliseconds remaining(const ProxyTimeouts& t, milliseconds cap) {
  const auto left = std::chrono::duration_cast<milliseconds>(t.deadline - std::chrono::steady_clock::now());
  return std::max(milliseconds(1), std::min(cap, left));
}

UpstreamError classify(const http::error_code& ec) {
  if (ec == http::beast::error::timeout || ec == http::asio::error::timed_out) return UpstreamError::kTimeout;
  return UpstreamError::kReset;
}

bool is_event_stream(const http::Head& h) { return h.find("content-type").starts_with("text/event-stream"); }

// x-* response headers are relayed to the client.
bool is_x_header(std::string_view name) { return name.size() >= 2 && (name[0] == 'x' || name[0] == 'X') && name[1] == '-'; }

// A hedged attempt whose twin answered first: nothing of it reaches the client.
bool mark_lost(ProxyOutcome& out) {
  out.result = ProxyResult::kLost;
  out.error = UpstreamError::kNone;
  out.message = "hedge lost the race";
  return false;
}

}  // namespace

bool HedgeRace::claim(int lane) {
  if (winner < 0) {
    winner = lane;
    if (auto* other = upstream[static_cast<size_t>(1 - lane)]) {
      other->close();  // its pending read fails at once; the engine sees the disconnect
    }
  }
  return winner == lane;
}

namespace {

// Fields the gateway does not pass on: hop-by-hop ones (RFC 9110 §7.6.1), the
// framing and Host it sets itself, and Accept-Encoding (bodies are relayed, and
// metered, as they come: asked for uncompressed). Checked by length first; the names
// are parsed tokens (token_is).
bool dropped_field(std::string_view name) {
  using http::token_is;
  switch (name.size()) {
    case 2: return token_is(name, "te");
    case 4: return token_is(name, "host");
    case 6: return token_is(name, "expect");
    case 7: return token_is(name, "trailer") || token_is(name, "upgrade");
    case 10: return token_is(name, "connection") || token_is(name, "keep-alive");
    case 14: return token_is(name, "content-length");
    case 15: return token_is(name, "accept-encoding");
    case 16: return token_is(name, "proxy-connection");
    // llama-server keeps generating for requests that carry a conversation id after the
    // client leaves; the gateway relies on disconnects to free slots.
    case 17: return token_is(name, "transfer-encoding") || token_is(name, "x-conversation-id");
    case 19: return token_is(name, "proxy-authorization");
    default: return false;
  }
}

}  // namespace

UpstreamRequest make_upstream_request(http::ServerRequest& client, bool strip_authorization,
                                      std::string_view authorization) {
  UpstreamRequest up;
  std::string& h = up.head;
  h.reserve(256);
  h.append(client.method_string()).append(" ").append(client.target()).append(" HTTP/1.1\r\n");
  const bool replace_authorization = strip_authorization || !authorization.empty();
  for (const auto& f : client.fields()) {
    if (dropped_field(f.name)) continue;
    // tidal's own API key is not the engine's
    if (replace_authorization && http::token_is(f.name, "authorization")) continue;
    http::append_field(h, f.name, f.value);
  }
  if (!authorization.empty()) http::append_field(h, "Authorization", authorization);
  up.body = std::move(client.body());
  const auto verb = client.method();
  if (!up.body.empty() || verb == bhttp::verb::post || verb == bhttp::verb::put || verb == bhttp::verb::patch) {
    http::append_field(h, "Content-Length", std::to_string(up.body.size()));
  }
  return up;
}

// The whole-body answer of an attempt, in a coroutine frame of its own (a frame holds
// every local of every branch: an event stream's attempt does not carry these). True
// when relayed; false with `out` final otherwise.
http::awaitable<bool> relay_body(http::Connection& conn, http::ResponseReader& reader, fleet::Replica& replica,
                                 http::Exchange& client, const ProxyTimeouts& timeouts, TimePoint started,
                                 routing::Ticket& ticket, std::span<const std::pair<std::string, std::string>> extra_headers,
                                 HedgeRace* race, int lane, ProxyOutcome& out) {
  auto cs = co_await http::asio::this_coro::cancellation_state;
  const http::Head& head = reader.header();
  std::string body;
  http::error_code rec;  // a small body comes with its head: no frame to wait for it
  if (!reader.read_buffered(conn, body, rec)) rec = co_await reader.read_all(conn, body, remaining(timeouts, timeouts.idle));
  if (cs.cancelled() != http::asio::cancellation_type::none) {
    out.result = ProxyResult::kClientGone;
    co_return false;
  }
  if (race && race->lost(lane)) co_return mark_lost(out);
  if (rec) {
    out.error = classify(rec);
    out.message = "upstream " + replica.name() + " failed mid-body: " + rec.message();
    co_return false;  // nothing sent yet: retryable
  }
  if (race && !race->claim(lane)) co_return mark_lost(out);
  out.ttft = out.last_byte = std::chrono::steady_clock::now() - started;
  routing::first_token(replica.stats, ticket);
  UsageMeter meter;
  meter.feed_body(body);
  out.output_tokens = meter.output_tokens();
  out.prompt_tokens = meter.prompt_tokens();
  out.cached_tokens = meter.cached_tokens();
  // The client's header lines: the upstream's content type, Retry-After and x-*
  // headers (those the gateway sets itself win), then the gateway's own.
  // Built in this thread's scratch buffer: respond() copies it before it can suspend.
  thread_local std::string scratch;
  std::string& fields = scratch;
  fields.clear();
  for (const auto& f : head.fields) {
    const std::string_view name = f.name;
    if (!http::token_is(name, "content-type") && !http::token_is(name, "retry-after") && !is_x_header(name)) continue;
    const bool overridden = std::any_of(extra_headers.begin(), extra_headers.end(),
                                        [&](const auto& kv) { return http::iequals(kv.first, name); });
    if (!overridden) http::append_field(fields, name, f.value);
  }
  http::append_field(fields, "Server", "tidal");
  for (const auto& [k, v] : extra_headers) http::append_field(fields, k, v);
  bool relayed = false;
  if (client.started()) {
    // The client already has a 200 event stream (it waited at zero): the upstream's
    // whole answer (an error, typically) goes as one event, and the stream ends.
    const std::string event = "data: " + body + "\n\n";  // GCC 12: no temporaries in a co_await condition
    relayed = co_await client.write_chunk(event);
    if (relayed) relayed = co_await client.finish_stream();
  } else {
    relayed = co_await client.respond(head.status, fields, body);
  }
  if (!relayed) out.result = ProxyResult::kClientGone;
  co_return relayed;
}

// The client's event-stream head: the upstream's status, content type, cache control
// and x-* headers, then the gateway's own. Apart from proxy_exchange, whose frame an
// open stream holds to its end, as the next one is.
http::awaitable<bool> open_stream(http::Exchange& client, const http::Head& head,
                                  std::span<const std::pair<std::string, std::string>> extra_headers) {
  bhttp::response<bhttp::empty_body> relay{bhttp::int_to_status(head.status), 11};
  for (const auto& f : head.fields) {
    if (http::token_is(f.name, "content-type") || http::token_is(f.name, "cache-control") || is_x_header(f.name)) {
      relay.insert(f.name, f.value);
    }
  }
  relay.set(bhttp::field::server, "tidal");
  for (const auto& [k, v] : extra_headers) relay.set(k, v);
  co_return co_await client.start_stream(std::move(relay));
}

// A stream the upstream broke off: the client gets an error event in OpenAI's shape and a
// proper end of the stream, never a silent truncation. True if both were sent.
http::awaitable<bool> end_with_error(http::Exchange& client, const std::string& message) {
  const std::string event =
      "data: " + openai::error_body(make_error(ErrorKind::kUpstream, message, "", "upstream_error")) + "\n\n";
  bool ended = co_await client.write_chunk(event);
  if (ended) ended = co_await client.finish_stream();
  co_return ended;
}

// An event stream's answer, relayed as it comes, in a frame of its own (relay_body's
// locals are not in it, nor its in proxy_exchange's). True when relayed to its end;
// false with `out` final otherwise.
http::awaitable<bool> relay_stream(http::Connection& conn, http::ResponseReader& reader, fleet::Replica& replica,
                                   http::Exchange& client, const ProxyTimeouts& timeouts, TimePoint started,
                                   routing::Ticket& ticket,
                                   std::span<const std::pair<std::string, std::string>> extra_headers, HedgeRace* race,
                                   int lane, ProxyOutcome& out) {
  auto cs = co_await http::asio::this_coro::cancellation_state;
  const http::Head& head = reader.header();
  std::string piece;
  if (race) {
    // The first token decides the race: read it before answering the client.
    while (piece.empty() && !reader.done()) {
      auto rec = co_await reader.read_some(conn, piece, remaining(timeouts, timeouts.idle));
      if (cs.cancelled() != http::asio::cancellation_type::none) {
        out.result = ProxyResult::kClientGone;
        co_return false;
      }
      if (race->lost(lane)) co_return mark_lost(out);
      if (rec) {
        out.error = classify(rec);
        out.message = "upstream " + replica.name() + " failed before its first token: " + rec.message();
        co_return false;  // nothing sent: retryable
      }
    }
    if (!race->claim(lane)) co_return mark_lost(out);
  }
  // A stream that waited at zero started its response already (keep-alive comments).
  bool open = client.started();
  if (!open) open = co_await open_stream(client, head, extra_headers);
  if (!open) {
    out.result = ProxyResult::kClientGone;
    co_return false;
  }
  UsageMeter meter;
  out.streamed = true;
  while (!piece.empty() || !reader.done()) {
    http::error_code rec;
    if (piece.empty()) rec = co_await reader.read_some(conn, piece, remaining(timeouts, timeouts.idle));
    if (cs.cancelled() != http::asio::cancellation_type::none) {
      out.result = ProxyResult::kClientGone;
      co_return false;
    }
    if (rec) {
      out.result = ProxyResult::kBroken;
      out.error = classify(rec);
      out.message = "upstream " + replica.name() + " broke off the stream: " + rec.message();
      out.client_saw_error_event = co_await end_with_error(client, out.message);
      co_return false;
    }
    if (piece.empty()) continue;
    out.last_byte = std::chrono::steady_clock::now() - started;
    if (out.ttft == Duration::zero()) {
      out.ttft = out.last_byte;
      routing::first_token(replica.stats, ticket);
    }
    meter.feed(piece);
    const bool written = co_await client.write_chunk(piece);
    piece.clear();
    if (!written) {
      out.result = ProxyResult::kClientGone;
      co_return false;
    }
  }
  co_await client.finish_stream();
  out.output_tokens = meter.output_tokens();
  out.prompt_tokens = meter.prompt_tokens();
  out.cached_tokens = meter.cached_tokens();
  co_return true;
}

http::awaitable<void> proxy_exchange(http::ConnectionPool& pool, fleet::Replica& replica, const UpstreamRequest& upstream,
                                     http::Exchange& client, const ProxyTimeouts& timeouts, TimePoint started,
                                     routing::Ticket& ticket, ProxyOutcome& out,
                                     std::span<const std::pair<std::string, std::string>> extra_headers,
                                     HedgeRace* race, int lane) {
  out = ProxyOutcome{};
  // A lane's connection is visible to its twin only while this attempt holds it.
  struct Lane {
    HedgeRace* race;
    int lane;
    void hold(http::Stream* s) {
      if (race) race->upstream[static_cast<size_t>(lane)] = s;
    }
    ~Lane() { hold(nullptr); }
  } held{race, lane};
  // Host names the replica; the blank line ends the head.
  const std::array<http::asio::const_buffer, 3> request{http::asio::buffer(upstream.head),
                                                        http::asio::buffer(replica.host_line),
                                                        http::asio::buffer(upstream.body)};
  auto cs = co_await http::asio::this_coro::cancellation_state;

  for (int attempt = 0; attempt < 2; ++attempt) {
    // A pooled connection may have been closed by the replica while idle; on failure
    // before any response byte, try once more on a fresh connection.
    std::pair<http::error_code, http::ConnectionPtr> got;
    if (attempt == 0) got.second = pool.take_idle(replica.endpoint);
    if (!got.second) got = co_await pool.connect(replica.endpoint, timeouts.connect);
    auto& [cec, conn] = got;
    if (cs.cancelled() != http::asio::cancellation_type::none) {
      out.result = ProxyResult::kClientGone;
      co_return;
    }
    if (cec) {
      out.error = cec == http::beast::error::timeout ? UpstreamError::kTimeout : UpstreamError::kConnect;
      out.refused = cec == http::asio::error::connection_refused;
      out.message = "connect to " + replica.name() + " failed: " + cec.message();
      co_return;
    }
    const bool reused = conn->reused;
    held.hold(&conn->stream);
    if (race && race->lost(lane)) {  // the twin answered while this one connected
      mark_lost(out);
      co_return;
    }
    http::ResponseReader& reader = conn->reader;
    reader.reset();
    size_t sent = 0;  // the request usually fits the socket's buffer: no frame for its write
    http::error_code ec = conn->stream.try_write(request, sent);
    if (ec == http::asio::error::would_block) {
      ec = co_await conn->stream.write_rest(request, sent, http::Stream::after(remaining(timeouts, timeouts.idle)));
    }
    if (!ec) ec = co_await reader.read_header(*conn, remaining(timeouts, timeouts.idle));
    if (cs.cancelled() != http::asio::cancellation_type::none) {
      out.result = ProxyResult::kClientGone;
      co_return;
    }
    if (race && race->lost(lane)) {
      mark_lost(out);
      co_return;
    }
    if (ec) {
      if (reused && ec != http::beast::error::timeout) continue;
      out.error = classify(ec);
      out.message = "upstream " + replica.name() + " failed before responding: " + ec.message();
      co_return;
    }

    out.status = reader.status();
    bool relayed = false;  // GCC 12: no co_await inside ?:
    if (is_event_stream(reader.header())) {
      relayed = co_await relay_stream(*conn, reader, replica, client, timeouts, started, ticket, extra_headers, race,
                                      lane, out);
    } else {
      relayed = co_await relay_body(*conn, reader, replica, client, timeouts, started, ticket, extra_headers, race, lane,
                                    out);
    }
    if (!relayed) co_return;
    conn->reusable = reader.keep_alive();
    pool.release(std::move(conn));
    out.result = ProxyResult::kDone;
    co_return;
  }
  out.error = UpstreamError::kReset;
  out.message = "upstream " + replica.name() + " closed the connection";
  co_return;
}

}  // namespace tidal::gateway
