// One request/response exchange on a server connection: a handler either sends a full
// response or streams one (chunked transfer encoding, e.g. SSE), chunk by chunk and
// never buffered. Methods return false when the client is gone.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "http/stream.h"
#include "http/types.h"

namespace tidal::http {

// Appends the header line "name: value\r\n".
void append_field(std::string& out, std::string_view name, std::string_view value);

class Exchange {
 public:
  // `write_timeout`: longest a write may wait for the client to read (0 = none); a
  // client that stops reading then loses the connection and the handler its slot.
  Exchange(Stream& stream, unsigned version, bool keep_alive,
           std::chrono::milliseconds write_timeout = std::chrono::milliseconds(0))
      : stream_(stream), version_(version), keep_alive_(keep_alive), write_timeout_(write_timeout) {}

  awaitable<bool> respond(Response res);
  // The same without a Response object (the relay's path): `fields` holds header lines,
  // each "Name: value\r\n"; Content-Length and Connection are added here.
  awaitable<bool> respond(unsigned status, std::string_view fields, std::string_view body);
  // Sends the header of a chunked response; `head` carries status and headers.
  awaitable<bool> start_stream(bhttp::response<bhttp::empty_body> head);
  awaitable<bool> write_chunk(std::string_view data);
  awaitable<bool> finish_stream();
  // Closes the connection after the handler returns (an aborted stream ends without
  // its final chunk, so the client sees a truncated response).
  void close_connection() { keep_alive_ = false; broken_ = true; }
  // Answers with "Connection: close" and ends the connection after this exchange (drain).
  void no_keep_alive() { keep_alive_ = false; }

  [[nodiscard]] bool started() const { return started_; }
  [[nodiscard]] bool finished() const { return finished_; }
  [[nodiscard]] bool keep_alive() const { return keep_alive_ && !broken_; }
  [[nodiscard]] unsigned version() const { return version_; }

 private:
  // Writes a serialized head and a body in one write.
  awaitable<bool> send(std::string_view head, std::string_view body);

  // Writes `buffers` if the socket takes them now: true when that settled it (`ok`:
  // written; a failure breaks the exchange), false when write_rest() must send the rest
  // from `sent`. Each writer calls both itself: a coroutine layer less per write, and
  // no frame at all for the write when the socket takes everything.
  bool write_now(std::span<const asio::const_buffer> buffers, size_t& sent, bool& ok);
  awaitable<bool> write_rest(std::span<const asio::const_buffer> buffers, size_t sent);

  Stream& stream_;
  unsigned version_;
  bool keep_alive_;
  std::chrono::milliseconds write_timeout_;
  bool started_ = false;
  bool finished_ = false;
  bool broken_ = false;
};

}  // namespace tidal::http
