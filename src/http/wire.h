// HTTP/1.1 on the wire, without allocation: message heads parsed in place into views
// of the caller's bytes, and a chunked-body decoder that works in place. The gateway's
// hot path (src/http/server.cpp, client.cpp) parses with these; Beast's parser did the
// same work with one heap node per header field.
//
//   Head h;
//   auto r = parse_response_head(bytes, h);  // kDone: r.consumed bytes were the head
//   if (r.status == ParseStatus::kDone && h.chunked) { ChunkDecoder d; ... }
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

#include <boost/container/small_vector.hpp>

namespace tidal::http {

// ASCII case-insensitive equality of header names and tokens, inline: most names
// tested against one differ in length or in their first bytes (Beast's iequals is out
// of line and lowercases every byte through a branch).
[[nodiscard]] inline bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    const char x = a[i], y = b[i];
    if (x == y) continue;
    // Equal but for the 0x20 bit, and a letter: the same letter in the other case.
    const char lx = static_cast<char>(x | 0x20);
    if (lx != static_cast<char>(y | 0x20) || lx < 'a' || lx > 'z') return false;
  }
  return true;
}

// A parsed header name (a valid token, RFC 9110 §5.6.2) equals `lower`, a lowercase
// name of letters, digits and '-'. Exact for tokens: OR-ing 0x20 maps their capitals, and
// no other token character, onto these; eight bytes are compared at a time.
[[nodiscard]] inline bool token_is(std::string_view name, std::string_view lower) {
  const size_t n = name.size();
  if (n != lower.size()) return false;
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t a = 0, b = 0;
    std::memcpy(&a, name.data() + i, 8);
    std::memcpy(&b, lower.data() + i, 8);
    if ((a | 0x2020202020202020ULL) != b) return false;
  }
  for (; i < n; ++i) {
    if ((name[i] | 0x20) != lower[i]) return false;
  }
  return true;
}

struct Field {
  std::string_view name;
  std::string_view value;  // without surrounding whitespace
};

// A request or response head; every view points into the parsed bytes.
struct Head {
  std::string_view method;  // requests
  std::string_view target;  // requests
  unsigned status = 0;      // responses
  std::string_view reason;  // responses
  unsigned version = 11;    // 10 or 11
  boost::container::small_vector<Field, 8> fields;  // inline: no allocation for a usual head (engines send 4-8)
  std::optional<uint64_t> content_length;
  bool chunked = false;     // Transfer-Encoding: chunked
  bool keep_alive = true;   // from the version and the Connection tokens

  // The first field named `name` (case-insensitive); empty if none.
  [[nodiscard]] std::string_view find(std::string_view name) const;
  // The parsed bytes in `from` were copied to `to`: every view into them follows them
  // (views elsewhere, such as a response head's empty method, stay as they are).
  void rebase(std::string_view from, const char* to);
  void clear();
};

enum class ParseStatus { kDone, kPartial, kError };

struct ParseResult {
  ParseStatus status = ParseStatus::kPartial;
  size_t consumed = 0;          // kDone: length of the head, blank line included
  std::string_view error = {};  // kError: what was wrong
};

// Parses a head from the start of `bytes`; kPartial until the blank line has arrived.
// Strict where ambiguity would let a request be read two ways (RFC 9112 §6.3): Content-Length
// together with Transfer-Encoding, differing Content-Lengths, a coding other than chunked,
// obsolete line folding, whitespace before a colon: all kError.
[[nodiscard]] ParseResult parse_request_head(std::string_view bytes, Head& out);
[[nodiscard]] ParseResult parse_response_head(std::string_view bytes, Head& out);

// Decodes a chunked body in place: decode() takes the raw bytes just received and
// leaves only the data bytes, returning how many it kept at the front. Chunk
// extensions are skipped; trailer fields are read and dropped.
class ChunkDecoder {
 public:
  struct Result {
    size_t kept = 0;     // data bytes now at the front of the buffer
    size_t used = 0;     // raw bytes consumed; less than given only once done()
    bool error = false;
  };
  Result decode(char* data, size_t size);
  [[nodiscard]] bool done() const { return state_ == State::kDone; }

 private:
  enum class State { kSize, kExtension, kSizeLf, kData, kDataCr, kDataLf, kTrailer, kTrailerLf, kTrailerLine, kDone };
  State state_ = State::kSize;
  uint64_t left_ = 0;        // data bytes still to come in this chunk
  unsigned digits_ = 0;      // hex digits of the current size line
  bool line_empty_ = true;   // the trailer line being read is empty so far
};

}  // namespace tidal::http
