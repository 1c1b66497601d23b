#include "http/api_client.h"

#include <boost/asio/ssl.hpp>
#include <boost/beast/ssl.hpp>
#include <optional>

#include "http/types.h"

namespace tidal::http {
namespace {

namespace ssl = boost::asio::ssl;

// One connection (plain or TLS) on a private io_context: the blocking calls run it.
struct Session {
  asio::io_context ioc;
  std::optional<ssl::context> ctx;
  beast::tcp_stream tcp{ioc};
  std::optional<beast::ssl_stream<beast::tcp_stream&>> tls;
  error_code failure;
  std::string stage = "resolve";

  // Calls f(stream) with the stream to use, plain or TLS.
  template <typename F>
  auto with_stream(F&& f) {
    return tls ? f(*tls) : f(tcp);
  }
};

Result<bool> make_tls(const ApiEndpoint& e, Session& s) {
  s.ctx.emplace(ssl::context::tls_client);
  s.ctx->set_options(ssl::context::no_sslv2 | ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
  error_code ec;
  if (e.insecure_skip_verify) {
    s.ctx->set_verify_mode(ssl::verify_none);
  } else {
    s.ctx->set_verify_mode(ssl::verify_peer);
    if (e.ca_pem.empty()) {
      s.ctx->set_default_verify_paths(ec);
    } else {
      s.ctx->add_certificate_authority(asio::buffer(e.ca_pem), ec);
    }
    if (ec) return make_error(ErrorKind::kInvalidRequest, "bad certificate authority: " + ec.message(), "certificate-authority");
  }
  if (!e.client_cert_pem.empty()) {
    s.ctx->use_certificate_chain(asio::buffer(e.client_cert_pem), ec);
    if (!ec) s.ctx->use_private_key(asio::buffer(e.client_key_pem), ssl::context::pem, ec);
    if (ec) return make_error(ErrorKind::kInvalidRequest, "bad client certificate or key: " + ec.message(), "client-certificate");
  }
  s.tls.emplace(s.tcp, *s.ctx);
  return true;
}

// Resolve, connect, TLS handshake (with SNI), write the request.
awaitable<bool> open(Session& s, const std::string& host, const std::string& port, Request& req) {
  tcp::resolver resolver(s.ioc);
  auto [rec, results] = co_await resolver.async_resolve(host, port, use_tuple);
  if ((s.failure = rec)) co_return false;
  s.stage = "connect";
  auto [cec, ep] = co_await s.tcp.async_connect(results, use_tuple);
  if ((s.failure = cec)) co_return false;
  if (s.tls) {
    s.stage = "TLS handshake";
    if (!SSL_set_tlsext_host_name(s.tls->native_handle(), host.c_str())) {
      s.failure = error_code(static_cast<int>(::ERR_get_error()), asio::error::get_ssl_category());
      co_return false;
    }
    auto [hec] = co_await s.tls->async_handshake(ssl::stream_base::client, use_tuple);
    if ((s.failure = hec)) co_return false;
  }
  s.stage = "request";
  auto [wec, wn] = co_await s.with_stream([&](auto& st) { return bhttp::async_write(st, req, use_tuple); });
  s.failure = wec;
  co_return !wec;
}

}  // namespace

Result<ApiClient> ApiClient::create(ApiEndpoint e) {
  std::string_view s = e.server;
  bool tls = false;
  if (s.starts_with("https://")) {
    tls = true;
    s.remove_prefix(8);
  } else if (s.starts_with("http://")) {
    s.remove_prefix(7);
  } else {
    return make_error(ErrorKind::kInvalidRequest, "server must start with http:// or https://: '" + e.server + "'", "server");
  }
  if (const size_t slash = s.find('/'); slash != std::string_view::npos) s = s.substr(0, slash);
  std::string host(s), port = tls ? "443" : "80";
  if (!host.empty() && host.front() == '[') {  // [v6]:port
    const size_t close = host.find(']');
    if (close == std::string::npos) return make_error(ErrorKind::kInvalidRequest, "bad IPv6 address in '" + e.server + "'", "server");
    if (close + 1 < host.size() && host[close + 1] == ':') port = host.substr(close + 2);
    host = host.substr(1, close - 1);
  } else if (const size_t colon = host.rfind(':'); colon != std::string::npos) {
    port = host.substr(colon + 1);
    host = host.substr(0, colon);
  }
  if (host.empty() || port.empty()) return make_error(ErrorKind::kInvalidRequest, "no host in '" + e.server + "'", "server");
  return ApiClient(std::move(e), tls, std::move(host), std::move(port));
}

namespace {

Request make_request(const std::string& method, const std::string& target, const std::string& host,
                     const std::string& token, const std::string& body, const std::string& content_type) {
  Request req{bhttp::string_to_verb(method), target, 11};
  req.set(bhttp::field::host, host);
  req.set(bhttp::field::user_agent, "tidal");
  req.set(bhttp::field::accept, "application/json");
  if (!token.empty()) req.set(bhttp::field::authorization, "Bearer " + token);
  if (!body.empty()) {
    req.set(bhttp::field::content_type, content_type.empty() ? "application/json" : content_type);
    req.body() = body;
  }
  req.prepare_payload();
  return req;
}

}  // namespace

Result<ApiResponse> ApiClient::request(const std::string& method, const std::string& target, const std::string& body,
                                       const std::string& content_type, std::chrono::milliseconds timeout) const {
  Session s;
  if (tls_) {
    if (auto ok = make_tls(endpoint_, s); !ok) return ok.error();
  }
  Request req = make_request(method, target, host_, endpoint_.bearer_token, body, content_type);
  ApiResponse out;
  bool done = false;
  auto exchange = [&]() -> awaitable<void> {
    const bool opened = co_await open(s, host_, port_, req);  // GCC 12: no co_await in a condition
    if (!opened) co_return;
    beast::flat_buffer buf;
    Response res;
    auto [rec, rn] = co_await s.with_stream([&](auto& st) { return bhttp::async_read(st, buf, res, use_tuple); });
    if ((s.failure = rec)) co_return;
    out.status = res.result_int();
    out.body = std::move(res.body());
    done = true;
  };
  asio::co_spawn(s.ioc, exchange(), asio::detached);
  s.ioc.run_for(timeout);
  if (!s.ioc.stopped()) {  // deadline: abort the pending operation and let the coroutine end
    beast::error_code ignored;
    s.tcp.socket().close(ignored);
    s.ioc.run();
    return make_error(ErrorKind::kUpstream, method + " " + endpoint_.server + target + ": timed out after " +
                                                std::to_string(timeout.count()) + " ms (" + s.stage + ")");
  }
  if (!done) {
    return make_error(ErrorKind::kUpstream, method + " " + endpoint_.server + target + ": " + s.stage + " failed: " +
                                                (s.failure ? s.failure.message() : std::string("no response")));
  }
  return out;
}

Result<unsigned> ApiClient::watch(const std::string& target, const std::function<bool(std::string_view)>& on_line,
                                  const std::atomic<bool>& stop, std::chrono::milliseconds idle) const {
  Session s;
  if (tls_) {
    if (auto ok = make_tls(endpoint_, s); !ok) return ok.error();
  }
  Request req = make_request("GET", target, host_, endpoint_.bearer_token, "", "");
  unsigned status = 0;
  bool ended = false;  // the response ended, or we stopped it
  auto last_byte = std::chrono::steady_clock::now();
  auto exchange = [&]() -> awaitable<void> {
    const bool opened = co_await open(s, host_, port_, req);  // GCC 12: no co_await in a condition
    if (!opened) co_return;
    s.stage = "response";
    beast::flat_buffer buf;
    bhttp::response_parser<bhttp::buffer_body> parser;
    parser.body_limit(boost::none);
    auto [hec, hn] = co_await s.with_stream([&](auto& st) { return bhttp::async_read_header(st, buf, parser, use_tuple); });
    if ((s.failure = hec)) co_return;
    status = parser.get().result_int();
    last_byte = std::chrono::steady_clock::now();
    std::string pending;
    char chunk[8192];
    while (!parser.is_done()) {
      parser.get().body().data = chunk;
      parser.get().body().size = sizeof chunk;
      auto [ec, n] = co_await s.with_stream([&](auto& st) { return bhttp::async_read_some(st, buf, parser, use_tuple); });
      if (ec == bhttp::error::need_buffer) ec = {};
      if (ec) {
        s.failure = ec;
        ended = stop.load();  // closed by us: a clean end
        co_return;
      }
      last_byte = std::chrono::steady_clock::now();
      pending.append(chunk, sizeof chunk - parser.get().body().size);
      for (size_t nl = pending.find('\n'); nl != std::string::npos; nl = pending.find('\n')) {
        const std::string line = pending.substr(0, nl);
        pending.erase(0, nl + 1);
        if (!line.empty() && !on_line(line)) {
          ended = true;
          co_return;
        }
      }
    }
    if (!pending.empty()) on_line(pending);
    ended = true;
  };
  // A ticker closes the connection when asked to stop or when the stream went silent.
  asio::steady_timer ticker(s.ioc);
  bool timed_out = false;
  std::function<void()> arm = [&] {
    ticker.expires_after(std::chrono::milliseconds(100));
    ticker.async_wait([&](error_code ec) {
      if (ec) return;
      if (stop.load() || std::chrono::steady_clock::now() - last_byte > idle) {
        timed_out = !stop.load();
        beast::error_code ignored;
        s.tcp.socket().close(ignored);
        return;
      }
      arm();
    });
  };
  arm();
  asio::co_spawn(s.ioc, [&]() -> awaitable<void> {
    co_await exchange();
    ticker.cancel();
  }, asio::detached);
  s.ioc.run();
  if (ended || stop.load()) return status;
  if (timed_out) return make_error(ErrorKind::kUpstream, "watch " + endpoint_.server + target + ": silent for " +
                                                             std::to_string(idle.count()) + " ms");
  return make_error(ErrorKind::kUpstream, "watch " + endpoint_.server + target + ": " + s.stage + " failed: " +
                                              (s.failure ? s.failure.message() : std::string("no response")));
}

}  // namespace tidal::http
