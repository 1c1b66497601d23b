#include "http/wire.h"

#include <array>
#include <charconv>
#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace tidal::http {
namespace {

constexpr std::string_view kCrlf = "\r\n";

// RFC 9110 §5.6.2 token characters, as a table (header names are checked byte by byte).
constexpr std::array<bool, 256> kTchar = [] {
  std::array<bool, 256> t{};
  for (int c = 'a'; c <= 'z'; ++c) t[static_cast<size_t>(c)] = true;
  for (int c = 'A'; c <= 'Z'; ++c) t[static_cast<size_t>(c)] = true;
  for (int c = '0'; c <= '9'; ++c) t[static_cast<size_t>(c)] = true;
  for (char c : std::string_view("!#$%&'*+-.^_`|~")) t[static_cast<unsigned char>(c)] = true;
  return t;
}();

constexpr bool is_tchar(char c) { return kTchar[static_cast<unsigned char>(c)]; }

bool is_token(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!is_tchar(c)) return false;
  }
  return true;
}

// Field values: visible characters, obs-text, space and tab; no other controls.
bool is_field_value(std::string_view s) {
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if ((c < 0x20 && c != '\t') || c == 0x7f) return false;
  }
  return true;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

ParseResult fail(std::string_view why) { return {ParseStatus::kError, 0, why}; }

bool parse_version(std::string_view v, unsigned& out) {
  if (v == "HTTP/1.1") {
    out = 11;
  } else if (v == "HTTP/1.0") {
    out = 10;
  } else {
    return false;
  }
  return true;
}

// Calls f(token) for each comma-separated, trimmed, non-empty token of a list value.
template <class F>
void for_each_token(std::string_view list, F&& f) {
  while (!list.empty()) {
    const size_t comma = list.find(',');
    const std::string_view token = trim(list.substr(0, comma));
    if (!token.empty()) f(token);
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
}

// Field-value bytes (RFC 9110 §5.5): visible characters, obs-text, space and tab.
constexpr std::array<bool, 256> kValueByte = [] {
  std::array<bool, 256> t{};
  for (int c = 0x20; c < 0x100; ++c) t[static_cast<size_t>(c)] = c != 0x7f;
  t['\t'] = true;
  return t;
}();

// Sixteen bytes at a time where SSE2 is there (every x86-64), for the usual bytes; the
// byte loops after these finish the job and check what these leave, so both are exact.
// Each reads 16 bytes from `p` only while they end before `limit`.
#if defined(__SSE2__)
__m128i in_range(__m128i v, char lo, char hi) {  // signed compares: bytes >= 0x80 are out
  return _mm_and_si128(_mm_cmpgt_epi8(v, _mm_set1_epi8(static_cast<char>(lo - 1))),
                       _mm_cmplt_epi8(v, _mm_set1_epi8(static_cast<char>(hi + 1))));
}
#endif

// Past the leading letters, digits and '-' of a header name (most names are only these).
const char* skip_common_name_bytes(const char* p, const char* limit) {
#if defined(__SSE2__)
  while (limit - p >= 16) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    const __m128i ok = _mm_or_si128(_mm_or_si128(in_range(v, 'a', 'z'), in_range(v, 'A', 'Z')),
                                    _mm_or_si128(in_range(v, '0', '9'), _mm_cmpeq_epi8(v, _mm_set1_epi8('-'))));
    const auto bad = static_cast<unsigned>(~_mm_movemask_epi8(ok)) & 0xffffu;
    if (bad != 0) return p + __builtin_ctz(bad);
    p += 16;
  }
#endif
  (void)limit;
  return p;
}

// Past the leading bytes of a field value that are printable ASCII or obs-text (most
// values are only these, up to their CR).
const char* skip_value_bytes(const char* p, const char* limit) {
#if defined(__SSE2__)
  while (limit - p >= 16) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    // Controls (0x00-0x1f, tab included: the byte loop takes it) and DEL stop the skip.
    const __m128i stop = _mm_or_si128(in_range(v, 0x00, 0x1f), _mm_cmpeq_epi8(v, _mm_set1_epi8(0x7f)));
    const auto mask = static_cast<unsigned>(_mm_movemask_epi8(stop));
    if (mask != 0) return p + __builtin_ctz(mask);
    p += 16;
  }
#endif
  (void)limit;
  return p;
}

// Why the line at `line` (which has no valid "token:" start) is refused.
ParseResult refuse_line(const char* line) {
  if (*line == ' ' || *line == '\t') return fail("obsolete line folding");
  for (const char* p = line; !(p[0] == '\r' && p[1] == '\n'); ++p) {
    if (*p == ':') return fail("bad header name");
  }
  return fail("header line without a colon");
}

// The header lines after the start line, [p, end): each ends in CRLF, and the blank
// line's CRLF follows `end`. One pass per line: the name's bytes are checked up to the
// colon, the value's up to the CR.
ParseResult parse_fields(const char* p, const char* end, size_t head_size, Head& out) {
  const char* const limit = end + 2;  // the blank line's CRLF: the last bytes that may be read
  bool close = false, keep_alive = false, bad_coding = false;
  while (p < end) {
    const char* const line = p;
    p = skip_common_name_bytes(p, limit);
    while (is_tchar(*p)) ++p;  // stops at the line's CR at the latest
    if (*p != ':' || p == line) return refuse_line(line);
    const std::string_view name(line, static_cast<size_t>(p - line));
    ++p;
    while (*p == ' ' || *p == '\t') ++p;
    const char* const value_begin = p;
    p = skip_value_bytes(p, limit);
    while (kValueByte[static_cast<unsigned char>(*p)]) ++p;
    if (p[0] != '\r' || p[1] != '\n') return fail("bad header value");
    const char* value_end = p;
    while (value_end > value_begin && (value_end[-1] == ' ' || value_end[-1] == '\t')) --value_end;
    const std::string_view value(value_begin, static_cast<size_t>(value_end - value_begin));
    p += 2;
    out.fields.push_back({name, value});
    switch (name.size()) {
      case 14:
        if (token_is(name, "content-length")) {
          uint64_t n = 0;
          const auto [last, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
          if (ec != std::errc() || last != value.data() + value.size() || value.empty()) return fail("bad Content-Length");
          if (out.content_length && *out.content_length != n) return fail("conflicting Content-Length");
          out.content_length = n;
        }
        break;
      case 17:
        if (token_is(name, "transfer-encoding")) {
          for_each_token(value, [&](std::string_view coding) {
            if (iequals(coding, "chunked") && !out.chunked) {
              out.chunked = true;
            } else {
              bad_coding = true;  // only chunked, once, is understood
            }
          });
        }
        break;
      case 10:
        if (token_is(name, "connection")) {
          for_each_token(value, [&](std::string_view option) {
            if (iequals(option, "close")) close = true;
            if (iequals(option, "keep-alive")) keep_alive = true;
          });
        }
        break;
      default: break;
    }
  }
  if (bad_coding) return fail("unsupported Transfer-Encoding");
  if (out.chunked && out.content_length) return fail("both Content-Length and Transfer-Encoding");
  out.keep_alive = !close && (out.version >= 11 || keep_alive);
  return {ParseStatus::kDone, head_size, {}};
}

// The head's bytes up to and including its blank line, or npos while incomplete.
size_t head_size(std::string_view bytes) {
  const size_t end = bytes.find("\r\n\r\n");
  return end == std::string_view::npos ? end : end + 4;
}

}  // namespace

std::string_view Head::find(std::string_view name) const {
  for (const auto& f : fields) {
    if (iequals(f.name, name)) return f.value;
  }
  return {};
}

void Head::rebase(std::string_view from, const char* to) {
  // Addresses compared as integers: a view outside `from` (or a null one) is no
  // pointer into it, and subtracting across objects is undefined.
  const auto base = reinterpret_cast<uintptr_t>(from.data());
  auto moved = [&](std::string_view& v) {
    const auto at = reinterpret_cast<uintptr_t>(v.data());
    if (at >= base && at - base <= from.size()) v = std::string_view(to + (at - base), v.size());
  };
  moved(method);
  moved(target);
  moved(reason);
  for (auto& f : fields) {
    moved(f.name);
    moved(f.value);
  }
}

void Head::clear() {
  method = target = reason = {};
  status = 0;
  version = 11;
  fields.clear();
  content_length.reset();
  chunked = false;
  keep_alive = true;
}

ParseResult parse_request_head(std::string_view bytes, Head& out) {
  const size_t size = head_size(bytes);
  if (size == std::string_view::npos) return {};
  out.clear();
  const std::string_view head = bytes.substr(0, size - 2);  // each line ends in CRLF
  const size_t eol = head.find(kCrlf);
  const std::string_view line = head.substr(0, eol);
  const size_t sp1 = line.find(' ');
  const size_t sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos) return fail("bad request line");
  out.method = line.substr(0, sp1);
  out.target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  if (!is_token(out.method)) return fail("bad method");
  if (out.target.empty()) return fail("bad target");
  for (char c : out.target) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u == 0x7f) return fail("bad target");
  }
  if (!parse_version(line.substr(sp2 + 1), out.version)) return fail("bad HTTP version");
  return parse_fields(head.data() + eol + 2, head.data() + head.size(), size, out);
}

ParseResult parse_response_head(std::string_view bytes, Head& out) {
  const size_t size = head_size(bytes);
  if (size == std::string_view::npos) return {};
  out.clear();
  const std::string_view head = bytes.substr(0, size - 2);
  const size_t eol = head.find(kCrlf);
  const std::string_view line = head.substr(0, eol);
  // "HTTP/1.1 200 OK": the reason may be empty, the space before it too.
  if (line.size() < 12 || line[8] != ' ' || !parse_version(line.substr(0, 8), out.version)) {
    return fail("bad status line");
  }
  const std::string_view code = line.substr(9, 3);
  if (code[0] < '1' || code[0] > '9' || code[1] < '0' || code[1] > '9' || code[2] < '0' || code[2] > '9') {
    return fail("bad status code");
  }
  out.status = static_cast<unsigned>((code[0] - '0') * 100 + (code[1] - '0') * 10 + (code[2] - '0'));
  if (line.size() > 12) {
    if (line[12] != ' ') return fail("bad status line");
    out.reason = line.substr(13);
    if (!is_field_value(out.reason)) return fail("bad reason phrase");
  }
  return parse_fields(head.data() + eol + 2, head.data() + head.size(), size, out);
}

ChunkDecoder::Result ChunkDecoder::decode(char* data, size_t size) {
  Result r;
  size_t i = 0;
  while (i < size && state_ != State::kDone) {
    const char c = data[i];
    switch (state_) {
      case State::kSize: {
        int v = -1;
        if (c >= '0' && c <= '9') v = c - '0';
        if (c >= 'a' && c <= 'f') v = c - 'a' + 10;
        if (c >= 'A' && c <= 'F') v = c - 'A' + 10;
        if (v >= 0) {
          if (++digits_ > 15) return {r.kept, i, true};  // larger than any body we take
          left_ = left_ * 16 + static_cast<uint64_t>(v);
        } else if (digits_ > 0 && (c == ';' || c == ' ' || c == '\t')) {
          state_ = State::kExtension;
        } else if (digits_ > 0 && c == '\r') {
          state_ = State::kSizeLf;
        } else {
          return {r.kept, i, true};
        }
        ++i;
        break;
      }
      case State::kExtension:
        if (c == '\r') state_ = State::kSizeLf;
        else if (c == '\n') return {r.kept, i, true};
        ++i;
        break;
      case State::kSizeLf:
        if (c != '\n') return {r.kept, i, true};
        digits_ = 0;
        state_ = left_ == 0 ? State::kTrailer : State::kData;
        line_empty_ = true;
        ++i;
        break;
      case State::kData: {
        const size_t n = static_cast<size_t>(std::min<uint64_t>(left_, size - i));
        if (r.kept != i) std::memmove(data + r.kept, data + i, n);
        r.kept += n;
        i += n;
        left_ -= n;
        if (left_ == 0) state_ = State::kDataCr;
        break;
      }
      case State::kDataCr:
        if (c != '\r') return {r.kept, i, true};
        state_ = State::kDataLf;
        ++i;
        break;
      case State::kDataLf:
        if (c != '\n') return {r.kept, i, true};
        state_ = State::kSize;
        ++i;
        break;
      case State::kTrailer:  // at the start of a trailer line
        state_ = c == '\r' ? State::kTrailerLf : State::kTrailerLine;
        if (c != '\r') line_empty_ = false;
        if (c == '\n') return {r.kept, i, true};
        ++i;
        break;
      case State::kTrailerLine:
        if (c == '\r') state_ = State::kTrailerLf;
        else if (c == '\n') return {r.kept, i, true};
        ++i;
        break;
      case State::kTrailerLf:
        if (c != '\n') return {r.kept, i, true};
        state_ = line_empty_ ? State::kDone : State::kTrailer;
        line_empty_ = true;
        ++i;
        break;
      case State::kDone:
        break;
    }
  }
  r.used = i;
  return r;
}

}  // namespace tidal::http
