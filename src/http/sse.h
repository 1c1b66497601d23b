// Server-sent events: an incremental parser (bytes in, `data:` payloads out), used by
// the load generator and tests, and the one-line framing used by the servers.
#pragma once

#include <functional>
#include <string>
#include <string_view>

namespace tidal::http {

// "data: <payload>\n\n"
inline std::string sse_event(std::string_view payload) {
  std::string out;
  out.reserve(payload.size() + 8);
  out.append("data: ").append(payload).append("\n\n");
  return out;
}

class SseParser {
 public:
  // Called once per complete event with its joined `data` lines; comments (":") and
  // events with no data are skipped.
  using OnEvent = std::function<void(std::string_view data)>;
  explicit SseParser(OnEvent on_event) : on_event_(std::move(on_event)) {}

  void feed(std::string_view bytes);
  // Bytes of an incomplete event still held (a stream that ends here is truncated).
  [[nodiscard]] size_t pending() const { return buf_.size(); }
  [[nodiscard]] size_t events() const { return events_; }

 private:
  void dispatch(std::string_view block);
  OnEvent on_event_;
  std::string buf_;
  size_t events_ = 0;
};

}  // namespace tidal::http
