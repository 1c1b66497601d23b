#include <gtest/gtest.h>

#include "gateway/proxy.h"
#include "http/wire.h"

namespace tidal::gateway {
namespace {

// A server request as the server builds it: parsed from the raw head.
void receive(std::string_view raw, http::ServerRequest& req) {
  http::Head head;
  const auto parsed = http::parse_request_head(raw, head);
  ASSERT_EQ(parsed.status, http::ParseStatus::kDone);
  req.assign(head, raw.substr(0, parsed.consumed));
  req.body() = std::string(raw.substr(parsed.consumed));
}

constexpr std::string_view kRequest =
    "POST /v1/chat/completions?x=1 HTTP/1.1\r\n"
    "Host: gateway.example\r\n"
    "Connection: keep-alive, TE\r\n"
    "Keep-Alive: timeout=5\r\n"
    "TE: trailers\r\n"
    "Trailer: x-checksum\r\n"
    "Upgrade: h2c\r\n"
    "Proxy-Authorization: Basic abc\r\n"
    "Proxy-Connection: keep-alive\r\n"
    "Expect: 100-continue\r\n"
    "Accept-Encoding: gzip, br\r\n"
    "X-Conversation-Id: conv-1\r\n"
    "content-length: 2\r\n"
    "Authorization: Bearer client-key\r\n"
    "User-Agent: OpenAI/Python 1.54.0\r\n"
    "x-stainless-retry-count: 0\r\n"
    "Content-Type: application/json\r\n"
    "\r\n"
    "{}";

TEST(ProxyTest, UpstreamRequestDropsHopByHopFieldsAndKeepsTheRestInOrder) {
  http::ServerRequest req;
  receive(kRequest, req);
  const UpstreamRequest up = make_upstream_request(req);
  EXPECT_EQ(up.head,
            "POST /v1/chat/completions?x=1 HTTP/1.1\r\n"
            "Authorization: Bearer client-key\r\n"
            "User-Agent: OpenAI/Python 1.54.0\r\n"
            "x-stainless-retry-count: 0\r\n"
            "Content-Type: application/json\r\n"
            "Content-Length: 2\r\n");
  EXPECT_EQ(up.body, "{}");
}

TEST(ProxyTest, TheClientsAuthorizationIsDroppedOrReplacedWhenTheGatewayHasKeys) {
  {
    http::ServerRequest req;
    receive(kRequest, req);
    const UpstreamRequest up = make_upstream_request(req, /*strip_authorization=*/true);
    EXPECT_EQ(up.head.find("Authorization"), std::string::npos) << up.head;
  }
  {
    http::ServerRequest req;
    receive(kRequest, req);
    const UpstreamRequest up = make_upstream_request(req, false, "Bearer engine-key");
    EXPECT_EQ(up.head.find("client-key"), std::string::npos) << up.head;
    EXPECT_NE(up.head.find("Authorization: Bearer engine-key\r\n"), std::string::npos) << up.head;
  }
}

TEST(ProxyTest, ServerRequestReadsFieldsCaseInsensitivelyAfterTheBufferIsGone) {
  http::ServerRequest req;
  {
    std::string raw(kRequest);  // the connection's buffer, reused once the head is copied
    receive(raw, req);
    raw.assign(raw.size(), '#');
  }
  EXPECT_EQ(req.method(), http::bhttp::verb::post);
  EXPECT_EQ(req.method_string(), "POST");
  EXPECT_EQ(req.target(), "/v1/chat/completions?x=1");
  EXPECT_EQ(req.version(), 11u);
  EXPECT_EQ(req["x-conversation-id"], "conv-1");
  EXPECT_EQ(req[http::bhttp::field::user_agent], "OpenAI/Python 1.54.0");
  EXPECT_EQ(req["x-missing"], "");
  EXPECT_EQ(req.fields().size(), 16u);
}

}  // namespace
}  // namespace tidal::gateway
