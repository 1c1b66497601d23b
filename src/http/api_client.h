// A blocking HTTP/1.1 client for control-plane APIs (the Kubernetes API server): one
// request per call on a fresh connection, http:// or https:// (TLS 1.2+ via OpenSSL,
// server certificate verified against a CA bundle unless told not to), bearer-token
// auth, a deadline over the whole exchange. Not for the data path (see client.h).
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "common/error.h"

namespace tidal::http {

struct ApiEndpoint {
  std::string server;          // "https://10.0.0.1:6443" or "http://127.0.0.1:8001"
  std::string bearer_token;    // sent as Authorization: Bearer ...; empty: none
  std::string ca_pem;          // PEM bundle trusted for the server's certificate; empty: system roots
  bool insecure_skip_verify = false;
  std::string client_cert_pem, client_key_pem;  // mutual TLS (kubeconfig client-certificate-data)
};

struct ApiResponse {
  unsigned status = 0;
  std::string body;
};

class ApiClient {
 public:
  // Errors: a malformed server URL.
  static Result<ApiClient> create(ApiEndpoint endpoint);
  // `content_type` applies to a non-empty body. Errors: connect, TLS, timeout (the status
  // of an answered request, 4xx/5xx included, is not an error here).
  [[nodiscard]] Result<ApiResponse> request(const std::string& method, const std::string& target,
                                            const std::string& body = "", const std::string& content_type = "",
                                            std::chrono::milliseconds timeout = std::chrono::milliseconds(5000)) const;
  // A long-lived GET whose body arrives line by line (a Kubernetes watch: one JSON event
  // per line). `on_line` gets each complete line; the call returns when the server ends
  // the response, `stop` becomes true (checked every 100 ms), `idle` passes without a
  // byte, or on_line returns false. Ok(status) when the response ended or was stopped;
  // errors: connect, TLS, a broken stream.
  [[nodiscard]] Result<unsigned> watch(const std::string& target, const std::function<bool(std::string_view)>& on_line,
                                       const std::atomic<bool>& stop,
                                       std::chrono::milliseconds idle = std::chrono::milliseconds(90'000)) const;
  [[nodiscard]] const std::string& server() const { return endpoint_.server; }

 private:
  ApiClient(ApiEndpoint e, bool tls, std::string host, std::string port)
      : endpoint_(std::move(e)), tls_(tls), host_(std::move(host)), port_(std::move(port)) {}
  ApiEndpoint endpoint_;
  bool tls_;
  std::string host_, port_;
};

}  // namespace tidal::http
