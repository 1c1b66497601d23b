// OpenAI-style errors: the one place that maps an ErrorKind to an HTTP status and the
// body {"error":{"message","type","param","code"}} that OpenAI clients parse.
#pragma once

#include <string>

#include "common/error.h"

namespace tidal::openai {

[[nodiscard]] unsigned http_status(ErrorKind kind);
[[nodiscard]] std::string_view error_type(ErrorKind kind);
[[nodiscard]] std::string error_body(const Error& e);

}  // namespace tidal::openai
