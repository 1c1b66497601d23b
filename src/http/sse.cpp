#include "http/sse.h"

namespace tidal::http {

void SseParser::feed(std::string_view bytes) {
  buf_.append(bytes);
  size_t start = 0;
  while (true) {
    // Events end with a blank line; accept \n\n and \r\n\r\n.
    size_t end = buf_.find("\n\n", start);
    size_t sep = 2;
    const size_t crlf = buf_.find("\r\n\r\n", start);
    if (crlf != std::string::npos && (end == std::string::npos || crlf < end)) {
      end = crlf;
      sep = 4;
    }
    if (end == std::string::npos) break;
    dispatch(std::string_view(buf_).substr(start, end - start));
    start = end + sep;
  }
  buf_.erase(0, start);
}

void SseParser::dispatch(std::string_view block) {
  std::string data;
  bool has_data = false;
  while (!block.empty()) {
    size_t nl = block.find('\n');
    std::string_view line = block.substr(0, nl);
    block = nl == std::string_view::npos ? std::string_view{} : block.substr(nl + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.starts_with("data:")) {
      line.remove_prefix(5);
      if (line.starts_with(' ')) line.remove_prefix(1);
      if (has_data) data.push_back('\n');
      data.append(line);
      has_data = true;
    }
  }
  if (has_data) {
    ++events_;
    on_event_(data);
  }
}

}  // namespace tidal::http
