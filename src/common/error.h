// Expected failures on the data path are values: Result<T> holds a T or an Error.
// The error kinds mirror OpenAI's error types; gateway/openai_error maps them to HTTP.
#pragma once

#include <boost/system/result.hpp>
#include <string>
#include <string_view>

namespace tidal {

enum class ErrorKind {
  kInvalidRequest,    // 400 invalid_request_error
  kAuthentication,    // 401 authentication_error
  kNotFound,          // 404 not_found_error
  kPayloadTooLarge,   // 413 invalid_request_error
  kRateLimited,       // 429 rate_limit_error
  kUnavailable,       // 503 service_unavailable (no replica, queue timeout)
  kUpstream,          // 502 upstream failure after retries
  kTimeout,           // 504 upstream timeout
  kInternal,          // 500 server_error
};

struct Error {
  ErrorKind kind = ErrorKind::kInternal;
  std::string message;
  std::string param;  // offending field, if any
  std::string code;   // machine-readable code, if any
};

[[noreturn]] void throw_exception_from_error(const Error& e, const boost::source_location& loc);

template <class T>
using Result = boost::system::result<T, Error>;

inline Error make_error(ErrorKind kind, std::string message, std::string param = {},
                        std::string code = {}) {
  return Error{kind, std::move(message), std::move(param), std::move(code)};
}

std::string_view to_string(ErrorKind kind);

}  // namespace tidal
