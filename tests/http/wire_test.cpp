// http/wire.h against Beast's parser on random messages (differential), and on the
// inputs where a lenient parser would let one message be read two ways.
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <string>
#include <utility>
#include <vector>

#include "common/rng.h"
#include "http/types.h"
#include "http/wire.h"

namespace tidal::http {
namespace {

struct Parsed {
  std::string start;  // "METHOD target 11" or "200 reason 11"
  std::vector<std::pair<std::string, std::string>> fields;
  std::string body;
  bool keep_alive = false;
};

std::string pick(Rng& rng, const std::vector<std::string>& from) { return from[rng.below(from.size())]; }

std::string random_case(Rng& rng, std::string s) {
  for (char& c : s) {
    if (rng.below(2) == 0 && c >= 'a' && c <= 'z') c = static_cast<char>(c - 32);
  }
  return s;
}

std::string ows(Rng& rng) { return pick(rng, {"", " ", "  ", "\t", " \t"}); }

// A random valid message: start line, 0-12 fields in random case and spacing, a body
// framed by Content-Length or chunked (random chunk sizes, extensions, trailers).
std::string random_message(Rng& rng, bool request, std::string& body) {
  std::string m;
  const bool v10 = rng.below(5) == 0;
  if (request) {
    m = pick(rng, {"GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "PURGE"}) + " " +
        pick(rng, {"/", "/v1/completions", "/v1/chat/completions?x=1&y=%20", "*", "http://h/p"}) +
        (v10 ? " HTTP/1.0\r\n" : " HTTP/1.1\r\n");
  } else {
    m = (v10 ? "HTTP/1.0 " : "HTTP/1.1 ") + pick(rng, {"200 OK", "404 Not Found", "429 Too Many Requests", "503 ", "500 Internal Server Error"}) + "\r\n";
  }
  const std::vector<std::string> names = {"host", "content-type", "x-request-id", "accept", "user-agent", "authorization",
                                          "x-tidal-priority", "cache-control", "connection"};
  const size_t n = rng.below(13);
  bool connection = false;  // one Connection field: with several, Beast lets keep-alive win over close
  for (size_t i = 0; i < n; ++i) {
    std::string name = random_case(rng, pick(rng, names));
    if (beast::iequals(name, "connection") && std::exchange(connection, true)) continue;
    std::string value = name.size() == 10 && beast::iequals(name, "connection")
                            ? pick(rng, {"close", "keep-alive", "Keep-Alive, Upgrade", "upgrade"})
                            : pick(rng, {"a", "text/event-stream", "Bearer sk-1", "1", "x y  z", "\xc3\xa9t\xc3\xa9"});
    m += name + ":" + ows(rng) + value + ows(rng) + "\r\n";
  }
  body.clear();
  const size_t size = rng.below(4) == 0 ? 0 : rng.below(3000);
  for (size_t i = 0; i < size; ++i) body += static_cast<char>('a' + rng.below(26));
  if (!v10 && rng.below(2) == 0) {  // chunked is HTTP/1.1's (Beast refuses it in 1.0 responses)
    m += random_case(rng, "transfer-encoding") + ": chunked\r\n\r\n";
    for (size_t at = 0; at < body.size();) {
      const size_t k = std::min(body.size() - at, 1 + static_cast<size_t>(rng.below(700)));
      char hex[20];
      std::snprintf(hex, sizeof(hex), rng.below(2) ? "%zx" : "%zX", k);
      m += std::string(hex) + (rng.below(4) == 0 ? ";ext=1" : "") + "\r\n" + body.substr(at, k) + "\r\n";
      at += k;
    }
    m += "0\r\n";
    if (rng.below(3) == 0) m += "x-trailer: t\r\n";
    m += "\r\n";
  } else if (!body.empty() || rng.below(2) == 0) {
    m += random_case(rng, "content-length") + ":" + ows(rng) + std::to_string(body.size()) + "\r\n\r\n" + body;
  } else {
    m += "\r\n";
  }
  return m;
}

template <bool IsRequest>
Parsed beast_parse(const std::string& m, bool& ok) {
  bhttp::parser<IsRequest, bhttp::string_body> p;
  p.eager(true);
  p.body_limit(1 << 20);
  if constexpr (!IsRequest) p.skip(false);
  error_code ec;
  size_t used = p.put(asio::buffer(m), ec);
  while (!ec && !p.is_done() && used < m.size()) used += p.put(asio::buffer(m.data() + used, m.size() - used), ec);
  if (!ec && !p.is_done()) p.put_eof(ec);  // a response framed by the end of the connection
  ok = !ec && p.is_done();
  Parsed out;
  if (!ok) return out;
  const auto& msg = p.get();
  if constexpr (IsRequest) {
    out.start = std::string(msg.method_string()) + " " + std::string(msg.target()) + " " + std::to_string(msg.version());
  } else {
    out.start = std::to_string(msg.result_int()) + " " + std::string(msg.reason()) + " " + std::to_string(msg.version());
  }
  for (const auto& f : msg) out.fields.emplace_back(f.name_string(), f.value());
  out.body = msg.body();
  out.keep_alive = p.keep_alive();  // the parser's: every Connection field counts (the message's reads the first)
  return out;
}

// Ours, fed in random pieces (a head may arrive in parts, a chunked body in any split).
Parsed wire_parse(Rng& rng, const std::string& m, bool request, bool& ok) {
  Parsed out;
  Head h;
  ParseResult r;
  size_t have = 0;
  do {
    have = std::min(m.size(), have + 1 + static_cast<size_t>(rng.below(200)));
    r = request ? parse_request_head(std::string_view(m).substr(0, have), h)
                : parse_response_head(std::string_view(m).substr(0, have), h);
  } while (r.status == ParseStatus::kPartial && have < m.size());
  ok = r.status == ParseStatus::kDone;
  if (!ok) return out;
  out.start = request ? std::string(h.method) + " " + std::string(h.target) + " " + std::to_string(h.version)
                      : std::to_string(h.status) + " " +
                            // Beast gives the standard reason for an empty one
                            (h.reason.empty() ? std::string(bhttp::obsolete_reason(bhttp::int_to_status(h.status)))
                                              : std::string(h.reason)) +
                            " " + std::to_string(h.version);
  for (const auto& f : h.fields) out.fields.emplace_back(f.name, f.value);
  // A response without a length ends with the connection (as ResponseReader::keep_alive).
  out.keep_alive = h.keep_alive && (request || h.chunked || h.content_length);
  std::string rest = m.substr(r.consumed);
  if (h.chunked) {
    ChunkDecoder d;
    for (size_t at = 0; at < rest.size() && !d.done();) {
      std::string piece = rest.substr(at, 1 + static_cast<size_t>(rng.below(300)));
      const auto got = d.decode(piece.data(), piece.size());
      if (got.error) {
        ok = false;
        return out;
      }
      out.body.append(piece, 0, got.kept);
      at += got.used;
    }
    ok = d.done();
  } else {
    out.body = rest.substr(0, h.content_length.value_or(request ? 0 : rest.size()));
  }
  return out;
}

// Beast keeps fields of one name together (in their order) and adds trailer fields;
// compare by name, then order within a name, without the trailer.
std::vector<std::pair<std::string, std::string>> by_name(std::vector<std::pair<std::string, std::string>> f) {
  std::erase_if(f, [](const auto& kv) { return kv.first == "x-trailer"; });
  auto lower = [](std::string s) {
    for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
  };
  std::stable_sort(f.begin(), f.end(), [&](const auto& a, const auto& b) { return lower(a.first) < lower(b.first); });
  return f;
}

void expect_same(const Parsed& a, const Parsed& b, const std::string& m) {
  EXPECT_EQ(a.start, b.start) << m;
  EXPECT_EQ(by_name(a.fields), by_name(b.fields)) << m;
  EXPECT_EQ(a.body, b.body) << m;
  EXPECT_EQ(a.keep_alive, b.keep_alive) << m;
}

// 3,000 random messages read by Beast at once and by wire.h in random pieces.
void differential(bool request, uint64_t seed) {
  Rng rng(seed);
  for (int i = 0; i < 3000; ++i) {
    std::string body;
    const std::string m = random_message(rng, request, body);
    bool beast_ok = false, ok = false;
    const Parsed want = request ? beast_parse<true>(m, beast_ok) : beast_parse<false>(m, beast_ok);
    const Parsed got = wire_parse(rng, m, request, ok);
    ASSERT_TRUE(beast_ok) << m;
    ASSERT_TRUE(ok) << m;
    expect_same(want, got, m);
    EXPECT_EQ(got.body, body);
  }
}

TEST(WireTest, ReadsRandomRequestsExactlyAsBeastDoes) { differential(true, 7); }

TEST(WireTest, ReadsRandomResponsesExactlyAsBeastDoes) { differential(false, 11); }

TEST(WireTest, EveryPrefixOfAHeadIsPartial) {
  const std::string m = "POST /v1/completions HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nhi";
  Head h;
  for (size_t n = 0; n < m.size() - 2; ++n) {
    EXPECT_EQ(parse_request_head(std::string_view(m).substr(0, n), h).status, ParseStatus::kPartial) << n;
  }
  const auto r = parse_request_head(m, h);
  ASSERT_EQ(r.status, ParseStatus::kDone);
  EXPECT_EQ(r.consumed, m.size() - 2);
  EXPECT_EQ(h.find("HOST"), "a");
  EXPECT_EQ(h.find("x-missing"), "");
  EXPECT_EQ(*h.content_length, 2u);
}

TEST(WireTest, RefusesWhatCouldBeReadTwoWays) {
  const std::vector<std::string> bad = {
      "POST / HTTP/1.1\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",  // request smuggling
      "POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
      "POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
      "POST / HTTP/1.1\r\nContent-Length: 5x\r\n\r\n",
      "POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
      "POST / HTTP/1.1\r\nTransfer-Encoding: chunked, chunked\r\n\r\n",
      "GET / HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n",
      "GET / HTTP/1.1\r\nHost : a\r\n\r\n",
      "GET / HTTP/1.1\r\nHo st: a\r\n\r\n",
      "GET / HTTP/1.1\r\nHost: a\nb\r\n\r\n",
      "GET / HTTP/1.1\r\n: a\r\n\r\n",
      "GET / HTTP/1.1\r\nnocolon\r\n\r\n",
      "GET  / HTTP/1.1\r\n\r\n",
      "GET / HTTP/2.0\r\n\r\n",
      "GET /a b HTTP/1.1\r\n\r\n",
      "G@T / HTTP/1.1\r\n\r\n",
  };
  for (const auto& m : bad) {
    Head h;
    EXPECT_EQ(parse_request_head(m, h).status, ParseStatus::kError) << m;
  }
  Head h;
  EXPECT_EQ(parse_response_head("HTTP/1.1 2000 OK\r\n\r\n", h).status, ParseStatus::kError);
  EXPECT_EQ(parse_response_head("HTTP/1.1 20 OK\r\n\r\n", h).status, ParseStatus::kError);
  EXPECT_EQ(parse_response_head("HTTP/1.1 200OK\r\n\r\n", h).status, ParseStatus::kError);
  EXPECT_EQ(parse_response_head("HTTX/1.1 200 OK\r\n\r\n", h).status, ParseStatus::kError);
}

TEST(WireTest, ChunkDecoderRefusesBadFramingAndStopsAtTheEnd) {
  for (std::string bad : {"x\r\n", "5\r\nhello\n", "\r\n", "5\nhello\r\n", "1234567890abcdef0\r\n"}) {
    ChunkDecoder d;
    EXPECT_TRUE(d.decode(bad.data(), bad.size()).error) << bad;
  }
  std::string raw = "3\r\nabc\r\n0\r\n\r\nGET / HTTP/1.1\r\n";  // the next message follows
  ChunkDecoder d;
  const auto r = d.decode(raw.data(), raw.size());
  EXPECT_FALSE(r.error);
  EXPECT_TRUE(d.done());
  EXPECT_EQ(raw.substr(0, r.kept), "abc");
  EXPECT_EQ(raw.substr(r.used), "GET / HTTP/1.1\r\n");
}

TEST(WireTest, KeepAliveFollowsVersionAndConnectionTokens) {
  const std::vector<std::pair<std::string, bool>> cases = {
      {"GET / HTTP/1.1\r\n\r\n", true},
      {"GET / HTTP/1.1\r\nConnection: close\r\n\r\n", false},
      {"GET / HTTP/1.1\r\nConnection: Upgrade, CLOSE\r\n\r\n", false},
      {"GET / HTTP/1.0\r\n\r\n", false},
      {"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", true},
      {"GET / HTTP/1.0\r\nConnection: keep-alive\r\nConnection: close\r\n\r\n", false},  // close wins (RFC 9112 §9.3)
  };
  for (const auto& [m, want] : cases) {
    Head h;
    ASSERT_EQ(parse_request_head(m, h).status, ParseStatus::kDone) << m;
    EXPECT_EQ(h.keep_alive, want) << m;
  }
}

}  // namespace
}  // namespace tidal::http
