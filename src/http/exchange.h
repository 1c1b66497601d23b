// One request/response exchange on a server connection: a handler either sends a full
// response or streams one (chunked transfer encoding, e.g. SSE), chunk by chunk and
// never buffered. Methods return false when the client is gone.
#pragma once

#include <string_view>

#include "http/types.h"

namespace tidal::http {

class Exchange {
 public:
  Exchange(beast::tcp_stream& stream, unsigned version, bool keep_alive)
      : stream_(stream), version_(version), keep_alive_(keep_alive) {}

  awaitable<bool> respond(Response res);
  // Sends the header of a chunked response; `head` carries status and headers.
  awaitable<bool> start_stream(bhttp::response<bhttp::empty_body> head);
  awaitable<bool> write_chunk(std::string_view data);
  awaitable<bool> finish_stream();
  // Closes the connection after the handler returns (an aborted stream ends without
  // its final chunk, so the client sees a truncated response).
  void close_connection() { keep_alive_ = false; broken_ = true; }

  [[nodiscard]] bool started() const { return started_; }
  [[nodiscard]] bool finished() const { return finished_; }
  [[nodiscard]] bool keep_alive() const { return keep_alive_ && !broken_; }
  [[nodiscard]] unsigned version() const { return version_; }

 private:
  beast::tcp_stream& stream_;
  unsigned version_;
  bool keep_alive_;
  bool started_ = false;
  bool finished_ = false;
  bool broken_ = false;
};

}  // namespace tidal::http
