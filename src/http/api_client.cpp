#include "http/api_client.h"

#include <boost/asio/ssl.hpp>
#include <boost/beast/ssl.hpp>
#include <optional>

#include "http/types.h"

namespace tidal::http {
namespace {

namespace asio = boost::asio;
namespace ssl = boost::asio::ssl;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;

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

Result<ApiResponse> ApiClient::request(const std::string& method, const std::string& target, const std::string& body,
                                       const std::string& content_type, std::chrono::milliseconds timeout) const {
  asio::io_context ioc;
  std::optional<ssl::context> ctx;
  if (tls_) {
    ctx.emplace(ssl::context::tls_client);
    ctx->set_options(ssl::context::no_sslv2 | ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
    boost::system::error_code ec;
    if (endpoint_.insecure_skip_verify) {
      ctx->set_verify_mode(ssl::verify_none);
    } else {
      ctx->set_verify_mode(ssl::verify_peer);
      if (endpoint_.ca_pem.empty()) {
        ctx->set_default_verify_paths(ec);
      } else {
        ctx->add_certificate_authority(asio::buffer(endpoint_.ca_pem), ec);
      }
      if (ec) return make_error(ErrorKind::kInvalidRequest, "bad certificate authority: " + ec.message(), "certificate-authority");
    }
    if (!endpoint_.client_cert_pem.empty()) {
      ctx->use_certificate_chain(asio::buffer(endpoint_.client_cert_pem), ec);
      if (!ec) ctx->use_private_key(asio::buffer(endpoint_.client_key_pem), ssl::context::pem, ec);
      if (ec) return make_error(ErrorKind::kInvalidRequest, "bad client certificate or key: " + ec.message(), "client-certificate");
    }
  }
  bhttp::request<bhttp::string_body> req{bhttp::string_to_verb(method), target, 11};
  req.set(bhttp::field::host, host_);
  req.set(bhttp::field::user_agent, "tidal");
  req.set(bhttp::field::accept, "application/json");
  if (!endpoint_.bearer_token.empty()) req.set(bhttp::field::authorization, "Bearer " + endpoint_.bearer_token);
  if (!body.empty()) {
    req.set(bhttp::field::content_type, content_type.empty() ? "application/json" : content_type);
    req.body() = body;
  }
  req.prepare_payload();

  boost::system::error_code failure;
  std::string stage = "resolve";
  ApiResponse out;
  bool done = false;
  // One coroutine does the exchange; run_for bounds it, closing the socket on expiry.
  beast::tcp_stream tcp(ioc);
  std::optional<beast::ssl_stream<beast::tcp_stream&>> tls_stream;
  if (tls_) tls_stream.emplace(tcp, *ctx);
  auto exchange = [&]() -> asio::awaitable<void> {
    auto tuple = asio::as_tuple(asio::use_awaitable);
    asio::ip::tcp::resolver resolver(ioc);
    auto [rec, results] = co_await resolver.async_resolve(host_, port_, tuple);
    if ((failure = rec)) co_return;
    stage = "connect";
    auto [cec, ep] = co_await tcp.async_connect(results, tuple);
    if ((failure = cec)) co_return;
    beast::flat_buffer buf;
    bhttp::response<bhttp::string_body> res;
    if (tls_) {
      stage = "TLS handshake";
      if (!SSL_set_tlsext_host_name(tls_stream->native_handle(), host_.c_str())) {
        failure = boost::system::error_code(static_cast<int>(::ERR_get_error()), asio::error::get_ssl_category());
        co_return;
      }
      auto [hec] = co_await tls_stream->async_handshake(ssl::stream_base::client, tuple);
      if ((failure = hec)) co_return;
      stage = "request";
      auto [wec, wn] = co_await bhttp::async_write(*tls_stream, req, tuple);
      if ((failure = wec)) co_return;
      auto [rdec, rn] = co_await bhttp::async_read(*tls_stream, buf, res, tuple);
      if ((failure = rdec)) co_return;
    } else {
      stage = "request";
      auto [wec, wn] = co_await bhttp::async_write(tcp, req, tuple);
      if ((failure = wec)) co_return;
      auto [rdec, rn] = co_await bhttp::async_read(tcp, buf, res, tuple);
      if ((failure = rdec)) co_return;
    }
    out.status = res.result_int();
    out.body = std::move(res.body());
    done = true;
  };
  asio::co_spawn(ioc, exchange(), asio::detached);
  ioc.run_for(timeout);
  if (!ioc.stopped()) {  // deadline: abort the pending operation and let the coroutine end
    beast::error_code ignored;
    tcp.socket().close(ignored);
    ioc.run();
    return make_error(ErrorKind::kUpstream, method + " " + endpoint_.server + target + ": timed out after " +
                                                std::to_string(timeout.count()) + " ms (" + stage + ")");
  }
  if (!done) {
    return make_error(ErrorKind::kUpstream, method + " " + endpoint_.server + target + ": " + stage + " failed: " +
                                                (failure ? failure.message() : std::string("no response")));
  }
  return out;
}

}  // namespace tidal::http
