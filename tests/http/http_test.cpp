#include <gtest/gtest.h>

#include <atomic>
#include <future>

#include "http/client.h"
#include "http/server.h"
#include "http/sse.h"
#include "http/url.h"

namespace tidal::http {
namespace {

TEST(SseParserTest, SplitsEventsAcrossArbitraryChunks) {
  std::vector<std::string> got;
  SseParser p([&](std::string_view d) { got.emplace_back(d); });
  const std::string stream = "data: {\"a\":1}\n\n: keep-alive comment\n\ndata: two\r\n\r\ndata: x\ndata: y\n\ndata: [DONE]\n\n";
  for (char c : stream) p.feed(std::string_view(&c, 1));
  ASSERT_EQ(got.size(), 4u);
  EXPECT_EQ(got[0], "{\"a\":1}");
  EXPECT_EQ(got[1], "two");
  EXPECT_EQ(got[2], "x\ny");
  EXPECT_EQ(got[3], "[DONE]");
  EXPECT_EQ(p.pending(), 0u);
  p.feed("data: partial");
  EXPECT_GT(p.pending(), 0u);
  EXPECT_EQ(sse_event("z"), "data: z\n\n");
}

TEST(UrlTest, ParsesAndRefuses) {
  auto u = parse_url("http://127.0.0.1:9001/v1");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->host, "127.0.0.1");
  EXPECT_EQ(u->port, 9001);
  EXPECT_EQ(u->path, "/v1");
  EXPECT_EQ(parse_url("localhost:80")->port, 80);
  EXPECT_FALSE(parse_url("https://x:1"));
  EXPECT_FALSE(parse_url("http://x:0"));
  EXPECT_FALSE(parse_url("http://x:70000"));
  EXPECT_FALSE(parse_url("http://:80"));
}

TEST(UrlTest, PercentEncodesAllButUnreservedCharacters) {
  EXPECT_EQ(percent_encode("kubernetes.io/service-name=vllm"), "kubernetes.io%2Fservice-name%3Dvllm");
  EXPECT_EQ(percent_encode("sum(x{a=\"b c\"})"), "sum%28x%7Ba%3D%22b%20c%22%7D%29");
  EXPECT_EQ(percent_encode("A-z_0.9~"), "A-z_0.9~");
  EXPECT_EQ(percent_encode("\xc3\xa9"), "%C3%A9");
}

// A real server on an ephemeral port, driven by the real client.
class ServerTest : public ::testing::Test {
 protected:
  void start(Handler h, ServerOptions o = {}) {
    server_ = std::make_unique<Server>(o, std::move(h));
    server_->listen();
    server_->start();
  }
  std::pair<error_code, SimpleResponse> call(Request req) {
    asio::io_context ctx;
    ConnectionPool pool(ctx.get_executor());
    std::pair<error_code, SimpleResponse> out;
    req.set(bhttp::field::host, "127.0.0.1");
    asio::co_spawn(ctx, fetch(pool, tcp::endpoint(asio::ip::make_address("127.0.0.1"), server_->port()),
                              std::move(req), std::chrono::milliseconds(5000)),
                   [&](std::exception_ptr, std::pair<error_code, SimpleResponse> r) { out = std::move(r); });
    ctx.run();
    return out;
  }
  std::unique_ptr<Server> server_;
};

TEST_F(ServerTest, ServesFullAndChunkedResponses) {
  start([](Request& req, Exchange& ex) -> awaitable<void> {
    if (req.target() == "/stream") {
      bhttp::response<bhttp::empty_body> head{bhttp::status::ok, 11};
      head.set(bhttp::field::content_type, "text/event-stream");
      co_await ex.start_stream(std::move(head));
      co_await ex.write_chunk(sse_event("1"));
      co_await ex.write_chunk(sse_event("2"));
      co_await ex.finish_stream();
    } else {
      Response res{bhttp::status::ok, 11};
      res.body() = "echo:" + req.body();
      co_await ex.respond(std::move(res));
    }
  });
  Request post{bhttp::verb::post, "/x", 11};
  post.body() = "hi";
  auto [ec, res] = call(std::move(post));
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_EQ(res.body, "echo:hi");
  auto [ec2, res2] = call(Request{bhttp::verb::get, "/stream", 11});
  ASSERT_FALSE(ec2);
  EXPECT_EQ(res2.content_type, "text/event-stream");
  EXPECT_EQ(res2.body, "data: 1\n\ndata: 2\n\n");
}

TEST_F(ServerTest, OversizedBodiesGet413) {
  start([](Request&, Exchange& ex) -> awaitable<void> { co_await ex.respond(Response{bhttp::status::ok, 11}); },
        ServerOptions{.max_body_bytes = 10});
  Request post{bhttp::verb::post, "/x", 11};
  post.body() = std::string(100, 'a');
  auto [ec, res] = call(std::move(post));
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_EQ(res.status, 413u);
}

TEST_F(ServerTest, ClientDisconnectCancelsTheHandler) {
  std::promise<void> started, cancelled;
  start([&](Request&, Exchange&) -> awaitable<void> {
    started.set_value();
    asio::steady_timer forever(co_await asio::this_coro::executor, std::chrono::hours(1));
    auto [ec] = co_await forever.async_wait(use_tuple);
    if (ec == asio::error::operation_aborted) cancelled.set_value();
  });
  asio::io_context ctx;
  tcp::socket s(ctx);
  s.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), server_->port()));
  const std::string req = "GET /wait HTTP/1.1\r\nHost: x\r\n\r\n";
  asio::write(s, asio::buffer(req));
  ASSERT_EQ(started.get_future().wait_for(std::chrono::seconds(10)), std::future_status::ready);
  s.close();
  EXPECT_EQ(cancelled.get_future().wait_for(std::chrono::seconds(10)), std::future_status::ready);
}

}  // namespace
}  // namespace tidal::http
