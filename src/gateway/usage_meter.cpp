#include "gateway/usage_meter.h"

#include <algorithm>
#include <cstring>

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

// Occurrences of `pat` that end after `from` and start before `until`.
uint32_t count(std::string_view buf, std::string_view pat, size_t from, size_t until) {
  uint32_t n = 0;
  for (size_t p = buf.find(pat); p != std::string_view::npos && p < until; p = buf.find(pat, p + 1)) {
    n += p + pat.size() > from ? 1 : 0;
  }
  return n;
}

}  // namespace

void UsageMeter::scan(std::string_view buf, size_t from, size_t until) {
  events_ += count(buf, "\ndata:", from, until);
  done_ += count(buf, "\ndata: [DONE]", from, until);
  usage_only_ += count(buf, "\"choices\":[]", from, until);
  constexpr std::string_view kCompletion = "\"completion_tokens\":", kPrompt = "\"prompt_tokens\":";
  for (size_t p = buf.find(kCompletion); p != std::string_view::npos; p = buf.find(kCompletion, p + 1)) {
    if (auto v = number_at(buf, p + kCompletion.size())) completion_ = v;
  }
  for (size_t p = buf.find(kPrompt); p != std::string_view::npos; p = buf.find(kPrompt, p + 1)) {
    if (auto v = number_at(buf, p + kPrompt.size())) prompt_ = v;
  }
  constexpr std::string_view kCached = "\"cached_tokens\":";
  for (size_t p = buf.find(kCached); p != std::string_view::npos; p = buf.find(kCached, p + 1)) {
    if (auto v = number_at(buf, p + kCached.size())) cached_ = v;
  }
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

uint32_t UsageMeter::output_tokens() const {
  if (completion_) return *completion_;
  const uint32_t other = done_ + usage_only_;
  return events_ > other ? events_ - other : 0;
}

}  // namespace tidal::gateway
