#include "gateway/usage_meter.h"

#include <algorithm>
#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace tidal::gateway {
namespace {

// The unsigned number at `at` (after spaces), if it ends inside `buf`.
std::optional<uint32_t> number_at(std::string_view buf, size_t at) {
  size_t i = at;
  while (i < buf.size() && (buf[i] == ' ' || buf[i] == '\t')) ++i;
  uint64_t v = 0;
  size_t digits = 0;
  for (; i < buf.size() && buf[i] >= '0' && buf[i] <= '9' && digits < 10; ++i, ++digits) {
    v = v * 10 + static_cast<uint64_t>(buf[i] - '0');
  }
  if (digits == 0 || i == buf.size() || v > UINT32_MAX) return std::nullopt;
  return static_cast<uint32_t>(v);
}

// Calls f(p), in order, for each p where a pattern may start: d[p] == '\n', or d[p] ==
// '"' followed by 'c' or 'p' (the quoted patterns' first letters; most keys and
// values of a JSON body start otherwise). Sixteen bytes at a time where SSE2 is there,
// as on every x86-64: one compare per byte class and a bit mask.
template <typename F>
void for_each_mark(const char* d, size_t n, F&& f) {
  size_t p = 0;
#if defined(__SSE2__)
  const __m128i newline = _mm_set1_epi8('\n'), quote = _mm_set1_epi8('"'), c = _mm_set1_epi8('c'),
                pl = _mm_set1_epi8('p');
  for (; p + 17 <= n; p += 16) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(d + p));
    const __m128i next = _mm_loadu_si128(reinterpret_cast<const __m128i*>(d + p + 1));
    const __m128i quoted_key = _mm_and_si128(_mm_cmpeq_epi8(v, quote),
                                             _mm_or_si128(_mm_cmpeq_epi8(next, c), _mm_cmpeq_epi8(next, pl)));
    auto mask = static_cast<unsigned>(_mm_movemask_epi8(_mm_or_si128(_mm_cmpeq_epi8(v, newline), quoted_key)));
    for (; mask != 0; mask &= mask - 1) f(p + static_cast<size_t>(__builtin_ctz(mask)));
  }
#endif
  for (; p < n; ++p) {
    if (d[p] == '\n' || (d[p] == '"' && p + 1 < n && (d[p + 1] == 'c' || d[p + 1] == 'p'))) f(p);
  }
}

}  // namespace

// Stops only where a pattern may start (six std::string_view::find passes, each
// comparing at every quote, cost ~3 % of a proxied request; a byte-by-byte loop over a
// 500-byte body still ~8 % of the gateway's instructions; stopping at every quote ~4 %). Counted patterns
// must start before `until` and end after `from`; the usage numbers are taken wherever
// they are (reading one twice is harmless).
void UsageMeter::scan(std::string_view buf, size_t from, size_t until) {
  constexpr std::string_view kData = "\ndata:", kDone = "\ndata: [DONE]", kUsageOnly = "\"choices\":[]";
  constexpr std::string_view kCompletion = "\"completion_tokens\":", kPrompt = "\"prompt_tokens\":",
                             kCached = "\"cached_tokens\":";
  const char* const d = buf.data();
  const size_t n = buf.size();
  auto at = [&](size_t p, std::string_view pat) {
    return n - p >= pat.size() && std::memcmp(d + p, pat.data(), pat.size()) == 0;
  };
  auto counts = [&](size_t p, std::string_view pat) { return p < until && p + pat.size() > from && at(p, pat); };
  auto number = [&](size_t p, std::string_view pat, std::optional<uint32_t>& into) {
    if (!at(p, pat)) return;
    if (auto v = number_at(buf, p + pat.size())) into = v;
  };
  for_each_mark(d, n, [&](size_t p) {
    if (p + 1 >= n) return;  // every pattern is longer than one byte
    if (d[p] == '\n') {
      if (counts(p, kData)) ++events_;
      if (counts(p, kDone)) ++done_;  // apart: its "\ndata:" may have been counted in the last chunk
    } else if (d[p + 1] == 'c') {
      if (counts(p, kUsageOnly)) ++usage_only_;
      number(p, kCompletion, completion_);
      number(p, kCached, cached_);
    } else if (d[p + 1] == 'p') {
      number(p, kPrompt, prompt_);
    }
  });
}

void UsageMeter::feed(std::string_view bytes) {
  if (bytes.empty()) return;
  // Matches straddling the boundary: in the carry joined with the head of the new bytes.
  std::array<char, 2 * kCarry> seam;
  const size_t head = std::min(kCarry, bytes.size());
  std::memcpy(seam.data(), carry_.data(), carry_len_);
  std::memcpy(seam.data() + carry_len_, bytes.data(), head);
  scan(std::string_view(seam.data(), carry_len_ + head), carry_len_, carry_len_);
  // Matches inside the new bytes.
  scan(bytes, 0, bytes.size());
  // The new carry: the last kCarry bytes of (carry + bytes).
  if (bytes.size() >= kCarry) {
    std::memcpy(carry_.data(), bytes.data() + bytes.size() - kCarry, kCarry);
    carry_len_ = kCarry;
  } else {
    const size_t total = carry_len_ + bytes.size(), keep = std::min(kCarry, total), from_old = keep - bytes.size();
    std::memmove(carry_.data(), carry_.data() + carry_len_ - from_old, from_old);
    std::memcpy(carry_.data() + from_old, bytes.data(), bytes.size());
    carry_len_ = keep;
  }
}

namespace {

// Where the last `"usage"` in `d[0, n)` starts, or npos: sixteen bytes at a time from
// the end, stopping only at a quote followed by 'u'.
size_t last_usage_key(const char* d, size_t n) {
  constexpr std::string_view kUsage = "\"usage\"";
  auto is_key = [&](size_t p) { return n - p >= kUsage.size() && std::memcmp(d + p, kUsage.data(), kUsage.size()) == 0; };
  // Positions below `end` are still to be checked; a key starts at most 7 bytes before
  // the end, so the byte after each checked one is always inside the buffer.
  size_t end = n >= kUsage.size() ? n - kUsage.size() + 1 : 0;
#if defined(__SSE2__)
  const __m128i quote = _mm_set1_epi8('"'), u = _mm_set1_epi8('u');
  while (end >= 16) {
    const size_t p = end - 16;  // the block d[p, end), each byte with the one after it
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(d + p));
    const __m128i next = _mm_loadu_si128(reinterpret_cast<const __m128i*>(d + p + 1));
    auto mask = static_cast<unsigned>(_mm_movemask_epi8(_mm_and_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(next, u))));
    while (mask != 0) {  // the highest first: the last match wins
      const unsigned bit = 31u - static_cast<unsigned>(__builtin_clz(mask));
      if (is_key(p + bit)) return p + bit;
      mask &= ~(1u << bit);
    }
    end = p;
  }
#endif
  while (end > 0) {
    --end;
    if (d[end] == '"' && is_key(end)) return end;
  }
  return std::string_view::npos;
}

}  // namespace

void UsageMeter::feed_body(std::string_view body) {
  const size_t at = last_usage_key(body.data(), body.size());
  if (at != std::string_view::npos) {
    scan(body.substr(at), 0, body.size() - at);
    if (completion_) return;
    *this = UsageMeter{};  // no count there: the whole body, as feed() reads it
  }
  feed(body);
}

uint32_t UsageMeter::output_tokens() const {
  if (completion_) return *completion_;
  const uint32_t other = done_ + usage_only_;
  return events_ > other ? events_ - other : 0;
}

}  // namespace tidal::gateway
