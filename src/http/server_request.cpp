#include "http/server_request.h"

namespace tidal::http {

void ServerRequest::assign(const Head& head, std::string_view head_bytes) {
  bytes_.assign(head_bytes);
  const char* const from = head_bytes.data();
  const char* const to = bytes_.data();
  auto moved = [&](std::string_view v) { return std::string_view(to + (v.data() - from), v.size()); };
  method_ = moved(head.method);
  target_ = moved(head.target);
  version_ = head.version;
  fields_.clear();
  for (const auto& f : head.fields) fields_.push_back({moved(f.name), moved(f.value)});
  verb_ = bhttp::string_to_verb(method_);
  if (body_.capacity() > (64u << 10)) {
    std::string().swap(body_);  // a large body's block is not kept for the next request
  } else {
    body_.clear();
  }
}

std::string_view ServerRequest::operator[](std::string_view name) const {
  for (const auto& f : fields_) {
    if (iequals(f.name, name)) return f.value;
  }
  return {};
}

std::string_view ServerRequest::operator[](bhttp::field f) const {
  const auto name = bhttp::to_string(f);
  return (*this)[std::string_view(name.data(), name.size())];
}

}  // namespace tidal::http
