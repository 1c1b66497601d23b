// A request as the server hands it to a handler: the head's bytes, copied once from
// the connection's buffer, with its method, target and fields as views of that copy,
// and the body. Beast's request built a heap node per field (a hash of the name to a
// field enum, a tree insert, a malloc each): ~8 % of a proxied request's instructions.
//
//   if (req.method() == bhttp::verb::post && req.target() == "/v1/completions") ...
//   std::string_view key = req["authorization"];  // empty if absent
#pragma once

#include <span>
#include <string>
#include <string_view>

#include <boost/container/small_vector.hpp>

#include "http/types.h"
#include "http/wire.h"

namespace tidal::http {

class ServerRequest {
 public:
  ServerRequest() = default;
  ServerRequest(const ServerRequest&) = delete;
  ServerRequest& operator=(const ServerRequest&) = delete;

  // Takes a parsed head: its bytes are copied and its views re-pointed into the copy;
  // the body is emptied (the connection's next request reuses this object).
  void assign(const Head& head, std::string_view head_bytes);

  [[nodiscard]] bhttp::verb method() const { return verb_; }
  [[nodiscard]] std::string_view method_string() const { return method_; }
  [[nodiscard]] std::string_view target() const { return target_; }
  [[nodiscard]] unsigned version() const { return version_; }
  // The first field named `name` (case-insensitive); empty if there is none.
  [[nodiscard]] std::string_view operator[](std::string_view name) const;
  [[nodiscard]] std::string_view operator[](bhttp::field f) const;
  // Every field, in the order received.
  [[nodiscard]] std::span<const Field> fields() const { return {fields_.data(), fields_.size()}; }
  [[nodiscard]] std::string& body() { return body_; }
  [[nodiscard]] const std::string& body() const { return body_; }

 private:
  // An open event stream holds its request as long as it runs: eight fields inline
  // (most clients send fewer; more spill to one heap block).
  std::string bytes_;  // what the views point into
  std::string_view method_, target_;
  boost::container::small_vector<Field, 8> fields_;
  unsigned version_ = 11;
  bhttp::verb verb_ = bhttp::verb::unknown;
  std::string body_;
};

}  // namespace tidal::http
