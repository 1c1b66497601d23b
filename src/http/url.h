// Parsing of upstream addresses: "http://host:port[/path]" or "host:port".
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/error.h"

namespace tidal::http {

struct Url {
  std::string host;
  uint16_t port = 80;
  std::string path = "/";
  [[nodiscard]] std::string authority() const { return host + ":" + std::to_string(port); }
  [[nodiscard]] std::string to_string() const { return "http://" + authority() + (path == "/" ? "" : path); }
};

// Only plain http is supported; https upstreams are refused with a clear error.
[[nodiscard]] Result<Url> parse_url(std::string_view text);

// RFC 3986 percent-encoding of everything but unreserved characters, for a query
// parameter's value (a label selector, a PromQL query).
[[nodiscard]] std::string percent_encode(std::string_view text);

}  // namespace tidal::http
