#include "common/error.h"

#include <stdexcept>

namespace tidal {

void throw_exception_from_error(const Error& e, const boost::source_location&) {
  throw std::runtime_error(std::string(to_string(e.kind)) + ": " + e.message);
}

std::string_view to_string(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::kInvalidRequest: return "invalid_request";
    case ErrorKind::kAuthentication: return "authentication";
    case ErrorKind::kNotFound: return "not_found";
    case ErrorKind::kPayloadTooLarge: return "payload_too_large";
    case ErrorKind::kRateLimited: return "rate_limited";
    case ErrorKind::kUnavailable: return "unavailable";
    case ErrorKind::kUpstream: return "upstream";
    case ErrorKind::kTimeout: return "timeout";
    case ErrorKind::kInternal: return "internal";
  }
  return "internal";
}

}  // namespace tidal
