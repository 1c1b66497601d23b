#include "openai/error.h"

#include <boost/json.hpp>

namespace tidal::openai {

unsigned http_status(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::kInvalidRequest: return 400;
    case ErrorKind::kAuthentication: return 401;
    case ErrorKind::kNotFound: return 404;
    case ErrorKind::kPayloadTooLarge: return 413;
    case ErrorKind::kRateLimited: return 429;
    case ErrorKind::kInternal: return 500;
    case ErrorKind::kUpstream: return 502;
    case ErrorKind::kUnavailable: return 503;
    case ErrorKind::kTimeout: return 504;
  }
  return 500;
}

std::string_view error_type(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::kInvalidRequest:
    case ErrorKind::kPayloadTooLarge: return "invalid_request_error";
    case ErrorKind::kAuthentication: return "authentication_error";
    case ErrorKind::kNotFound: return "not_found_error";
    case ErrorKind::kRateLimited: return "rate_limit_error";
    case ErrorKind::kUnavailable: return "service_unavailable_error";
    case ErrorKind::kUpstream:
    case ErrorKind::kTimeout:
    case ErrorKind::kInternal: return "server_error";
  }
  return "server_error";
}

std::string error_body(const Error& e) {
  boost::json::object err;
  err["message"] = e.message;
  err["type"] = error_type(e.kind);
  err["param"] = e.param.empty() ? boost::json::value(nullptr) : boost::json::value(e.param);
  err["code"] = e.code.empty() ? boost::json::value(nullptr) : boost::json::value(e.code);
  boost::json::object root;
  root["error"] = std::move(err);
  return boost::json::serialize(root);
}

}  // namespace tidal::openai
