#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <future>
#include <thread>

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
  start([](ServerRequest& req, Exchange& ex) -> awaitable<void> {
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

// Raw bytes to the server and everything it answers until it closes the connection.
std::string exchange_raw(uint16_t port, const std::string& bytes, bool half_close = true) {
  asio::io_context ctx;
  tcp::socket s(ctx);
  s.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
  asio::write(s, asio::buffer(bytes));
  if (half_close) s.shutdown(tcp::socket::shutdown_send);
  std::string got;
  error_code ec;
  char buf[4096];
  while (!ec) got.append(buf, s.read_some(asio::buffer(buf), ec));
  return got;
}

size_t count(std::string_view hay, std::string_view needle) {
  size_t n = 0;
  for (size_t at = hay.find(needle); at != std::string_view::npos; at = hay.find(needle, at + 1)) ++n;
  return n;
}

Handler echo_handler() {
  return [](ServerRequest& req, Exchange& ex) -> awaitable<void> {
    Response res{bhttp::status::ok, 11};
    res.body() = std::string(req.target()) + ":" + req.body();
    co_await ex.respond(std::move(res));
  };
}

TEST_F(ServerTest, ReadsChunkedBodiesAndPipelinedRequestsInOrder) {
  start(echo_handler());
  const std::string got = exchange_raw(server_->port(),
                                       "POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                                       "3;ext\r\nabc\r\n2\r\nde\r\n0\r\nx-t: 1\r\n\r\n"
                                       "POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nfg"
                                       "GET /c HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  const size_t a = got.find("/a:abcde"), b = got.find("/b:fg"), c = got.find("/c:");
  ASSERT_NE(a, std::string::npos) << got;
  ASSERT_NE(b, std::string::npos) << got;
  ASSERT_NE(c, std::string::npos) << got;
  EXPECT_LT(a, b);
  EXPECT_LT(b, c);
  EXPECT_EQ(count(got, "HTTP/1.1 200 OK"), 3u);
  EXPECT_EQ(count(got, "Connection: close"), 1u);  // the last one asked for it
}

TEST_F(ServerTest, SaysContinueToAClientThatExpectsIt) {
  start(echo_handler());
  asio::io_context ctx;
  tcp::socket s(ctx);
  s.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), server_->port()));
  asio::write(s, asio::buffer(std::string("POST /e HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n")));
  std::string got(64, '\0');
  got.resize(s.read_some(asio::buffer(got)));  // the server answers before the body is sent
  EXPECT_EQ(got, "HTTP/1.1 100 Continue\r\n\r\n");
  asio::write(s, asio::buffer(std::string("body")));
  s.shutdown(tcp::socket::shutdown_send);
  error_code ec;
  char buf[4096];
  got.clear();
  while (!ec) got.append(buf, s.read_some(asio::buffer(buf), ec));
  EXPECT_NE(got.find("/e:body"), std::string::npos) << got;
}

TEST_F(ServerTest, MalformedRequestsGet400AndTheConnectionCloses) {
  start(echo_handler());
  for (const std::string bad : {"POST / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
                                "GET / HTTP/1.1\r\nHost : x\r\n\r\n", "BAD\r\n\r\n",
                                "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"}) {
    const std::string got = exchange_raw(server_->port(), bad + "GET /never HTTP/1.1\r\n\r\n");
    EXPECT_TRUE(got.starts_with("HTTP/1.1 400 Bad Request\r\n")) << bad << " -> " << got;
    EXPECT_NE(got.find("malformed HTTP request"), std::string::npos) << got;
    EXPECT_EQ(got.find("/never"), std::string::npos) << got;
  }
}

TEST_F(ServerTest, AnIdleClientIsDisconnectedAtTheIdleTimeout) {
  start(echo_handler(), ServerOptions{.idle_timeout = std::chrono::milliseconds(200)});
  // Half a head, then silence: the server closes (reads end) without answering.
  const auto t0 = std::chrono::steady_clock::now();
  const std::string got = exchange_raw(server_->port(), "GET / HTTP/1.1\r\nHo", false);
  EXPECT_EQ(got, "");
  EXPECT_GE(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(150));
}

TEST_F(ServerTest, ManyClientsAtOnceEachGetTheirOwnAnswer) {
  // Requests that become readable together (one epoll batch) must not share a buffer:
  // each client's answer echoes its own body.
  start(echo_handler(), ServerOptions{.threads = 2});
  asio::io_context ctx;
  constexpr int kClients = 200;
  std::vector<std::unique_ptr<tcp::socket>> sockets;
  const tcp::endpoint ep(asio::ip::make_address("127.0.0.1"), server_->port());
  for (int i = 0; i < kClients; ++i) {
    sockets.push_back(std::make_unique<tcp::socket>(ctx));
    sockets.back()->connect(ep);
  }
  for (int i = 0; i < kClients; ++i) {
    const std::string body = "client-" + std::to_string(i) + std::string(static_cast<size_t>(i % 7) * 100, 'x');
    const std::string req = "POST /" + std::to_string(i) + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: " +
                            std::to_string(body.size()) + "\r\n\r\n" + body;
    asio::write(*sockets[static_cast<size_t>(i)], asio::buffer(req));
  }
  for (int i = 0; i < kClients; ++i) {
    std::string got;
    error_code ec;
    char buf[4096];
    while (!ec) got.append(buf, sockets[static_cast<size_t>(i)]->read_some(asio::buffer(buf), ec));
    // (appended piece by piece: GCC 12 at -O3 warns falsely on to_string concatenations)
    const std::string id = std::to_string(i);
    std::string want = "/";
    want.append(id).append(":client-").append(id);
    if (i % 7) want += 'x';
    EXPECT_TRUE(got.starts_with("HTTP/1.1 200 OK")) << i << ": " << got;
    EXPECT_NE(got.find(want), std::string::npos) << i << ": " << got;
  }
}

// A 4 KB send buffer takes a few KB per write: every response below is written in
// parts (the socket's first sendmsg, then the rest when the client reads), and must
// arrive whole and in order, full bodies and chunks alike.
TEST_F(ServerTest, ResponsesLargerThanTheSendBufferArriveWhole) {
  auto pattern = [](size_t n, char seed) {
    std::string s(n, ' ');
    for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>('a' + (i * 7 + static_cast<size_t>(seed)) % 26);
    return s;
  };
  const std::string full = pattern(4 << 20, 1), chunk_a = pattern(1 << 20, 2), chunk_b = pattern(1 << 20, 3);
  start(
      [&](ServerRequest& req, Exchange& ex) -> awaitable<void> {
        if (req.target() == "/stream") {
          bhttp::response<bhttp::empty_body> head{bhttp::status::ok, 11};
          head.set(bhttp::field::content_type, "text/event-stream");
          co_await ex.start_stream(std::move(head));
          co_await ex.write_chunk(chunk_a);
          co_await ex.write_chunk(chunk_b);
          co_await ex.finish_stream();
        } else {
          co_await ex.respond(200, "Content-Type: text/plain\r\n", req.body().empty() ? full : req.body());
        }
      },
      ServerOptions{.max_body_bytes = 8 << 20, .send_buffer_bytes = 4096});
  auto [ec, res] = call(Request{bhttp::verb::get, "/full", 11});
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_EQ(res.body.size(), full.size());
  EXPECT_TRUE(res.body == full);
  auto [ec2, res2] = call(Request{bhttp::verb::get, "/stream", 11});
  ASSERT_FALSE(ec2) << ec2.message();
  EXPECT_EQ(res2.body.size(), chunk_a.size() + chunk_b.size());
  EXPECT_TRUE(res2.body == chunk_a + chunk_b);
  // A request body as large goes out whole too, and comes back.
  Request post{bhttp::verb::post, "/echo", 11};
  post.body() = chunk_b + chunk_a;
  auto [ec3, res3] = call(std::move(post));
  ASSERT_FALSE(ec3) << ec3.message();
  EXPECT_EQ(res3.status, 200u);
  EXPECT_TRUE(res3.body == chunk_b + chunk_a);
}

TEST_F(ServerTest, AHeadOver64KbGets431AndAChunkedBodyOverTheLimit413) {
  start(echo_handler(), ServerOptions{.max_body_bytes = 10});
  // Well over the limit, sent whole: refused at 64 KB, the rest read and dropped (lingering close).
  const std::string big = exchange_raw(server_->port(), "GET / HTTP/1.1\r\nX-Big: " + std::string(1 << 20, 'a') + "\r\n\r\n");
  EXPECT_TRUE(big.starts_with("HTTP/1.1 431 ")) << big.substr(0, 80);
  const std::string chunked = exchange_raw(
      server_->port(), "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n8\r\n12345678\r\n8\r\n12345678\r\n0\r\n\r\n");
  EXPECT_TRUE(chunked.starts_with("HTTP/1.1 413 ")) << chunked;
  EXPECT_NE(chunked.find("exceeds the limit of 10 bytes"), std::string::npos) << chunked;
}

TEST_F(ServerTest, OversizedBodiesGet413) {
  start([](ServerRequest&, Exchange& ex) -> awaitable<void> { co_await ex.respond(Response{bhttp::status::ok, 11}); },
        ServerOptions{.max_body_bytes = 10});
  Request post{bhttp::verb::post, "/x", 11};
  post.body() = std::string(100, 'a');
  auto [ec, res] = call(std::move(post));
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_EQ(res.status, 413u);
}

TEST_F(ServerTest, ClientDisconnectCancelsTheHandler) {
  std::promise<void> started, cancelled;
  start([&](ServerRequest&, Exchange&) -> awaitable<void> {
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

// Arming a watch costs a system call: a handler is watched only once it has run for
// watch_after, so quick answers cost none; 0 watches every handler from its start.
TEST_F(ServerTest, AHandlerIsWatchedOnlyOnceItOutlivesWatchAfter) {
  start(
      [&](ServerRequest& req, Exchange& ex) -> awaitable<void> {
        if (req.target() == "/slow") {
          asio::steady_timer t(co_await asio::this_coro::executor, std::chrono::milliseconds(300));
          co_await t.async_wait(use_tuple);
        }
        Response res{bhttp::status::ok, 11};
        res.body() = "ok";
        co_await ex.respond(std::move(res));
      },
      ServerOptions{.watch_after = std::chrono::milliseconds(100)});
  for (int i = 0; i < 20; ++i) {
    auto [ec, res] = call(Request{bhttp::verb::get, "/quick", 11});
    ASSERT_FALSE(ec);
    ASSERT_EQ(res.status, 200u);
  }
  EXPECT_EQ(server_->stats().watches_armed.load(), 0u);
  auto [ec, res] = call(Request{bhttp::verb::get, "/slow", 11});
  ASSERT_FALSE(ec);
  EXPECT_EQ(res.body, "ok");
  EXPECT_EQ(server_->stats().watches_armed.load(), 1u);

  server_.reset();
  start(
      [&](ServerRequest&, Exchange& ex) -> awaitable<void> {
        Response res{bhttp::status::ok, 11};
        co_await ex.respond(std::move(res));
      },
      ServerOptions{.watch_after = std::chrono::milliseconds(0)});
  for (int i = 0; i < 5; ++i) ASSERT_FALSE(call(Request{bhttp::verb::get, "/quick", 11}).first);
  EXPECT_EQ(server_->stats().watches_armed.load(), 5u);
}

// Handlers that start together are watched as each comes of age, and a client that
// leaves is noticed after that however many others run.
TEST_F(ServerTest, ClientsLeavingAmongManyRunningHandlersCancelTheirsOnly) {
  constexpr int kClients = 40;
  std::atomic<int> started{0}, cancelled{0};
  start(
      [&](ServerRequest&, Exchange& ex) -> awaitable<void> {
        ++started;
        asio::steady_timer t(co_await asio::this_coro::executor, std::chrono::seconds(2));
        auto [ec] = co_await t.async_wait(use_tuple);
        if (ec == asio::error::operation_aborted) {
          ++cancelled;
          co_return;
        }
        Response res{bhttp::status::ok, 11};
        res.body() = "done";
        co_await ex.respond(std::move(res));
      },
      ServerOptions{.threads = 2, .watch_after = std::chrono::milliseconds(20)});
  asio::io_context ctx;
  std::vector<tcp::socket> sockets;
  const std::string req = "GET /wait HTTP/1.1\r\nHost: x\r\n\r\n";
  for (int i = 0; i < kClients; ++i) {
    sockets.emplace_back(ctx).connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), server_->port()));
    asio::write(sockets.back(), asio::buffer(req));
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (started.load() < kClients && std::chrono::steady_clock::now() < deadline) std::this_thread::yield();
  ASSERT_EQ(started.load(), kClients);
  for (int i = 0; i < kClients; i += 2) sockets[static_cast<size_t>(i)].close();  // every other client leaves
  // The others get their answers.
  for (int i = 1; i < kClients; i += 2) {
    std::string got;
    std::array<char, 512> piece;
    error_code ec;
    while (got.find("done") == std::string::npos && !ec) {
      const size_t n = sockets[static_cast<size_t>(i)].read_some(asio::buffer(piece), ec);
      got.append(piece.data(), n);
    }
    EXPECT_NE(got.find("done"), std::string::npos) << "client " << i;
  }
  while (cancelled.load() < kClients / 2 && std::chrono::steady_clock::now() < deadline) std::this_thread::yield();
  EXPECT_EQ(cancelled.load(), kClients / 2);
  EXPECT_EQ(server_->stats().watches_armed.load(), static_cast<uint64_t>(kClients));
}

}  // namespace
}  // namespace tidal::http
