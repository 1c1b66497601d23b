// http/wire.h against Beast's parser on random messages (differential), and on the
// inputs where a lenient parser would let one message be read two ways.
#include <gtest/gtest.h>

#include <algorithm>
#include <charconv>
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

// The header lines read line by line, as wire.cpp read them before its one-pass scan:
// the reference for the randomized test below. Fills `out` from the lines of `head`
// (the start line's CRLF to the blank line's, exclusive) and returns the error, or ""
// when the head is good.
std::string reference_fields(std::string_view lines, Head& out) {
  auto trim = [](std::string_view v) {
    while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
    while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
    return v;
  };
  auto lower_eq = [](std::string_view a, std::string_view b) { return beast::iequals(a, b); };
  auto tokens = [&](std::string_view list, auto&& f) {
    while (!list.empty()) {
      const size_t comma = list.find(',');
      const std::string_view t = trim(list.substr(0, comma));
      if (!t.empty()) f(t);
      if (comma == std::string_view::npos) break;
      list.remove_prefix(comma + 1);
    }
  };
  const std::string_view tchars = "!#$%&'*+-.^_`|~";
  bool close = false, keep_alive = false, bad_coding = false;
  while (!lines.empty()) {
    const size_t eol = lines.find("\r\n");
    const std::string_view line = lines.substr(0, eol);
    lines.remove_prefix(eol + 2);
    if (line.front() == ' ' || line.front() == '\t') return "obsolete line folding";
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos) return "header line without a colon";
    const std::string_view name = line.substr(0, colon);
    if (name.empty()) return "bad header name";
    for (char c : name) {
      if (!std::isalnum(static_cast<unsigned char>(c)) && tchars.find(c) == std::string_view::npos) return "bad header name";
    }
    const std::string_view value = trim(line.substr(colon + 1));
    for (char ch : value) {
      const auto c = static_cast<unsigned char>(ch);
      if ((c < 0x20 && c != '\t') || c == 0x7f) return "bad header value";
    }
    out.fields.push_back({name, value});
    if (lower_eq(name, "content-length")) {
      uint64_t n = 0;
      const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
      if (ec != std::errc() || end != value.data() + value.size() || value.empty()) return "bad Content-Length";
      if (out.content_length && *out.content_length != n) return "conflicting Content-Length";
      out.content_length = n;
    } else if (lower_eq(name, "transfer-encoding")) {
      tokens(value, [&](std::string_view c) {
        if (lower_eq(c, "chunked") && !out.chunked) out.chunked = true;
        else bad_coding = true;
      });
    } else if (lower_eq(name, "connection")) {
      tokens(value, [&](std::string_view o) {
        if (lower_eq(o, "close")) close = true;
        if (lower_eq(o, "keep-alive")) keep_alive = true;
      });
    }
  }
  if (bad_coding) return "unsupported Transfer-Encoding";
  if (out.chunked && out.content_length) return "both Content-Length and Transfer-Encoding";
  out.keep_alive = !close && (out.version >= 11 || keep_alive);
  return "";
}

// Valid heads with random bytes of the header lines replaced, inserted or removed
// (separators, controls, obs-text, letters): the one-pass reading accepts and refuses
// exactly what the line-by-line reading does, with the same error and the same fields.
TEST(WireTest, MutatedHeaderLinesReadAsTheLineByLineReference) {
  Rng rng(23);
  const std::string bytes = std::string(" \t:\r\n\x7f,;\"Aa0-~\x80\xff") + std::string(1, '\0');
  int refused = 0, accepted = 0;
  for (int i = 0; i < 20000; ++i) {
    const bool request = rng.below(2) == 0;
    std::string body;
    std::string m = random_message(rng, request, body);
    const size_t first = m.find("\r\n") + 2;
    const size_t head_end = m.find("\r\n\r\n");
    if (head_end < first) continue;  // no header lines to change
    for (uint64_t k = 1 + rng.below(3); k > 0; --k) {
      const size_t blank = m.find("\r\n\r\n");
      if (blank == std::string::npos || blank + 2 <= first) break;
      const size_t span = blank + 2 - first;  // the lines, their CRLFs included
      const size_t at = first + rng.below(span);
      const char c = bytes[rng.below(bytes.size())];
      switch (rng.below(3)) {
        case 0: m[at] = c; break;
        case 1: m.insert(m.begin() + static_cast<std::ptrdiff_t>(at), c); break;
        default: m.erase(at, 1); break;
      }
    }
    Head got, want;
    const ParseResult r = request ? parse_request_head(m, got) : parse_response_head(m, got);
    const size_t end = m.find("\r\n\r\n");
    if (end == std::string::npos) {  // the blank line was broken: still waiting for the head
      EXPECT_EQ(r.status, ParseStatus::kPartial) << m;
      continue;
    }
    want.version = got.version;
    const std::string error = reference_fields(std::string_view(m).substr(first, end + 2 - first), want);
    if (error.empty()) {
      ++accepted;
      ASSERT_EQ(r.status, ParseStatus::kDone) << m << " error: " << r.error;
      EXPECT_EQ(r.consumed, end + 4);
      ASSERT_EQ(got.fields.size(), want.fields.size()) << m;
      for (size_t f = 0; f < got.fields.size(); ++f) {
        EXPECT_EQ(got.fields[f].name, want.fields[f].name) << m;
        EXPECT_EQ(got.fields[f].value, want.fields[f].value) << m;
      }
      EXPECT_EQ(got.content_length, want.content_length) << m;
      EXPECT_EQ(got.chunked, want.chunked) << m;
      EXPECT_EQ(got.keep_alive, want.keep_alive) << m;
    } else {
      ++refused;
      ASSERT_EQ(r.status, ParseStatus::kError) << m;
      EXPECT_EQ(r.error, error) << m;
    }
  }
  // Both outcomes were exercised, many times.
  EXPECT_GT(accepted, 2000);
  EXPECT_GT(refused, 2000);
}

// token_is (OR-ing 0x20, eight bytes at a time) against Beast's iequals: random tokens
// of every token character, and random-case copies of the literals, all lengths.
TEST(WireTest, TokenIsAgreesWithCaseInsensitiveEqualityOnTokens) {
  Rng rng(31);
  const std::string tchars = "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
  const std::vector<std::string> literals = {"te", "host", "content-length", "transfer-encoding", "x-conversation-id",
                                             "proxy-authorization", "content-type", "a1-b2-c3", "x"};
  int equal = 0;
  for (int i = 0; i < 200000; ++i) {
    const std::string& lit = literals[rng.below(literals.size())];
    std::string name;
    if (rng.below(2) == 0) {
      name = random_case(rng, lit);
      if (rng.below(2) == 0) name[rng.below(name.size())] = tchars[rng.below(tchars.size())];
    } else {
      for (size_t k = lit.size() - (rng.below(3) == 0 ? 1 : 0); k > 0; --k) name += tchars[rng.below(tchars.size())];
    }
    const bool want = beast::iequals(name, lit);
    ASSERT_EQ(token_is(name, lit), want) << name << " vs " << lit;
    equal += want ? 1 : 0;
  }
  EXPECT_GT(equal, 20000);
}

TEST(WireTest, ARebasedHeadReadsFromTheCopyAndLeavesViewsElsewhereAlone) {
  std::string buffer = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-Empty:\r\nContent-Length: 2\r\n\r\n{}";
  Head head;
  const ParseResult parsed = parse_response_head(buffer, head);
  ASSERT_EQ(parsed.status, ParseStatus::kDone);
  const std::string_view before_method = head.method;  // a response head has none: no view into the buffer
  std::string copy = buffer.substr(0, parsed.consumed);
  head.rebase(std::string_view(buffer).substr(0, parsed.consumed), copy.data());
  std::fill(buffer.begin(), buffer.end(), '#');  // the original bytes are gone
  EXPECT_EQ(head.reason, "OK");
  EXPECT_EQ(head.find("content-type"), "application/json");
  EXPECT_EQ(head.find("x-empty"), "");
  EXPECT_EQ(head.find("content-length"), "2");
  const auto inside = [&](std::string_view v) { return v.data() >= copy.data() && v.data() <= copy.data() + copy.size(); };
  EXPECT_TRUE(inside(head.reason));
  for (const auto& f : head.fields) EXPECT_TRUE(inside(f.name) && inside(f.value)) << f.name;
  EXPECT_EQ(head.method.data(), before_method.data());
  EXPECT_TRUE(head.method.empty());
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
