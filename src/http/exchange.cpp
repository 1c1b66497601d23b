#include "http/exchange.h"

#include <boost/asio/write.hpp>

namespace tidal::http {
namespace {

// Bounds one write by the exchange's write timeout; the stream's timer is off otherwise.
struct WriteDeadline {
  beast::tcp_stream& stream;
  WriteDeadline(beast::tcp_stream& s, std::chrono::milliseconds t) : stream(s) {
    if (t.count() > 0) stream.expires_after(t);
  }
  ~WriteDeadline() { stream.expires_never(); }
};

}  // namespace

awaitable<bool> Exchange::respond(Response res) {
  started_ = true;
  res.version(version_);
  res.keep_alive(keep_alive());
  res.prepare_payload();
  WriteDeadline deadline(stream_, write_timeout_);
  auto [ec, n] = co_await bhttp::async_write(stream_, res, use_tuple);
  finished_ = !ec;
  if (ec) broken_ = true;
  co_return !ec;
}

awaitable<bool> Exchange::start_stream(bhttp::response<bhttp::empty_body> head) {
  started_ = true;
  head.version(version_);
  head.keep_alive(keep_alive());
  head.chunked(true);
  bhttp::response_serializer<bhttp::empty_body> sr(head);
  WriteDeadline deadline(stream_, write_timeout_);
  auto [ec, n] = co_await bhttp::async_write_header(stream_, sr, use_tuple);
  if (ec) broken_ = true;
  co_return !ec;
}

awaitable<bool> Exchange::write_chunk(std::string_view data) {
  if (broken_) co_return false;
  if (data.empty()) co_return true;  // an empty chunk would end the body
  WriteDeadline deadline(stream_, write_timeout_);
  auto [ec, n] = co_await asio::async_write(stream_, bhttp::make_chunk(asio::buffer(data.data(), data.size())),
                                            use_tuple);
  if (ec) broken_ = true;
  co_return !ec;
}

awaitable<bool> Exchange::finish_stream() {
  if (broken_) co_return false;
  WriteDeadline deadline(stream_, write_timeout_);
  auto [ec, n] = co_await asio::async_write(stream_, bhttp::make_chunk_last(), use_tuple);
  if (ec) broken_ = true;
  finished_ = !ec;
  co_return !ec;
}

}  // namespace tidal::http
