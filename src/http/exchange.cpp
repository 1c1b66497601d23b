#include "http/exchange.h"

#include <array>
#include <charconv>
#include <cstring>


namespace tidal::http {
namespace {

// "HTTP/1.1 200 OK\r\n".
void append_status_line(std::string& out, unsigned version, unsigned status, std::string_view reason) {
  if (status == 200 && reason == "OK") {  // nearly every answer: one append
    out.append(version == 10 ? std::string_view("HTTP/1.0 200 OK\r\n") : std::string_view("HTTP/1.1 200 OK\r\n"));
    return;
  }
  out.append(version == 10 ? "HTTP/1.0 " : "HTTP/1.1 ");
  char code[8];
  out.append(code, std::to_chars(code, code + sizeof(code), status).ptr).append(" ").append(reason).append("\r\n");
}

// The status line and header fields of a response, as sent (one contiguous buffer: a
// single write with the body, no per-field buffer sequence).
std::string serialize_head(const bhttp::response_header<>& h) {
  std::string out;
  out.reserve(256);
  append_status_line(out, h.version(), h.result_int(), h.reason());
  for (const auto& f : h) append_field(out, f.name_string(), f.value());
  out.append("\r\n");
  return out;
}

}  // namespace

void append_field(std::string& out, std::string_view name, std::string_view value) {
  const size_t at = out.size();
  out.resize(at + name.size() + value.size() + 4);  // one growth check, then plain copies
  char* p = out.data() + at;
  std::memcpy(p, name.data(), name.size());
  p += name.size();
  *p++ = ':';
  *p++ = ' ';
  std::memcpy(p, value.data(), value.size());
  p += value.size();
  *p++ = '\r';
  *p = '\n';
}

bool Exchange::write_now(std::span<const asio::const_buffer> buffers, size_t& sent, bool& ok) {
  const error_code ec = stream_.try_write(buffers, sent);
  if (ec == asio::error::would_block) return false;
  if (ec) broken_ = true;
  ok = !ec;
  return true;
}

awaitable<bool> Exchange::write_rest(std::span<const asio::const_buffer> buffers, size_t sent) {
  const auto ec = co_await stream_.write_rest(buffers, sent, Stream::after(write_timeout_));
  if (ec) broken_ = true;
  co_return !ec;
}

awaitable<bool> Exchange::send(std::string_view head, std::string_view body) {
  const std::array<asio::const_buffer, 2> message{asio::buffer(head.data(), head.size()),
                                                  asio::buffer(body.data(), body.size())};
  size_t sent = 0;
  if (!write_now(message, sent, finished_)) finished_ = co_await write_rest(message, sent);
  co_return finished_;
}

awaitable<bool> Exchange::respond(Response res) {
  started_ = true;
  res.version(version_);
  res.keep_alive(keep_alive());
  res.prepare_payload();
  const std::string head = serialize_head(res.base());
  co_return co_await send(head, res.body());
}

awaitable<bool> Exchange::respond(unsigned status, std::string_view fields, std::string_view body) {
  started_ = true;
  // The head is built in this thread's scratch buffer (no allocation): it is written at
  // once, before anything else runs here, and copied only if the socket leaves some.
  thread_local std::string scratch;
  std::string& head = scratch;
  head.clear();
  append_status_line(head, version_, status, bhttp::obsolete_reason(bhttp::int_to_status(status)));
  head.append(fields);
  char length[24];
  append_field(head, "Content-Length",
               std::string_view(length, static_cast<size_t>(std::to_chars(length, length + sizeof(length), body.size()).ptr - length)));
  // As Beast's keep_alive(): HTTP/1.1 says "close" when closing, HTTP/1.0 "keep-alive" when not.
  if (version_ >= 11 && !keep_alive()) append_field(head, "Connection", "close");
  if (version_ < 11 && keep_alive()) append_field(head, "Connection", "keep-alive");
  head.append("\r\n");
  std::array<asio::const_buffer, 2> message{asio::buffer(head), asio::buffer(body.data(), body.size())};
  size_t sent = 0;
  if (!write_now(message, sent, finished_)) {
    const std::string rest = head;  // the scratch buffer is the next response's
    message[0] = asio::buffer(rest);
    finished_ = co_await write_rest(message, sent);
  }
  co_return finished_;
}

awaitable<bool> Exchange::start_stream(bhttp::response<bhttp::empty_body> head) {
  started_ = true;
  head.version(version_);
  head.keep_alive(keep_alive());
  head.chunked(true);
  const std::string bytes = serialize_head(head.base());
  const std::array<asio::const_buffer, 1> message{asio::buffer(bytes)};
  size_t sent = 0;
  bool ok = false;
  if (!write_now(message, sent, ok)) ok = co_await write_rest(message, sent);
  co_return ok;
}

awaitable<bool> Exchange::write_chunk(std::string_view data) {
  if (broken_) co_return false;
  if (data.empty()) co_return true;  // an empty chunk would end the body
  // One chunk: its size in hex, CRLF, the data, CRLF.
  char size[24];
  char* end = std::to_chars(size, size + 16, data.size(), 16).ptr;
  *end++ = '\r';
  *end++ = '\n';
  const std::array<asio::const_buffer, 3> chunk{asio::buffer(size, static_cast<size_t>(end - size)),
                                               asio::buffer(data.data(), data.size()), asio::buffer("\r\n", 2)};
  size_t sent = 0;
  bool ok = false;
  if (!write_now(chunk, sent, ok)) ok = co_await write_rest(chunk, sent);
  co_return ok;
}

awaitable<bool> Exchange::finish_stream() {
  if (broken_) co_return false;
  const std::array<asio::const_buffer, 1> last{asio::buffer("0\r\n\r\n", 5)};
  size_t sent = 0;
  if (!write_now(last, sent, finished_)) finished_ = co_await write_rest(last, sent);
  co_return finished_;
}

}  // namespace tidal::http
