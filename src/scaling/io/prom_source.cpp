#include "scaling/io/prom_source.h"

#include <boost/json.hpp>
#include <cmath>
#include <cstdlib>

#include "http/url.h"

namespace tidal::scaling {
namespace {

namespace json = boost::json;

// A sample value: [ <unix time>, "<value>" ].
std::optional<double> sample(const json::value& v) {
  if (!v.is_array() || v.as_array().size() != 2 || !v.as_array()[1].is_string()) return std::nullopt;
  const std::string text(v.as_array()[1].as_string());
  char* end = nullptr;
  const double d = std::strtod(text.c_str(), &end);
  if (end == text.c_str() || !std::isfinite(d)) return std::nullopt;
  return d;
}

}  // namespace

Result<PromSource> PromSource::create(const PrometheusSource& c) {
  auto api = http::ApiClient::create(http::ApiEndpoint{.server = c.url});
  if (!api) return api.error();
  std::string prefix;
  const size_t scheme = c.url.find("://");
  if (const size_t slash = c.url.find('/', scheme + 3); slash != std::string::npos) prefix = c.url.substr(slash);
  while (!prefix.empty() && prefix.back() == '/') prefix.pop_back();
  return PromSource(std::move(*api), prefix, c);
}

Result<double> PromSource::parse_value(const std::string& body) {
  json::error_code ec;
  const json::value doc = json::parse(body, ec);
  if (ec || !doc.is_object()) return make_error(ErrorKind::kUpstream, "not a Prometheus API response");
  const auto& o = doc.as_object();
  const auto* status = o.if_contains("status");
  if (!status || !status->is_string() || status->as_string() != "success") {
    const auto* err = o.if_contains("error");
    return make_error(ErrorKind::kUpstream,
                      "query failed: " + (err && err->is_string() ? std::string(err->as_string()) : std::string("no status")));
  }
  const auto* data = o.if_contains("data");
  if (!data || !data->is_object()) return make_error(ErrorKind::kUpstream, "no data");
  const auto* type = data->as_object().if_contains("resultType");
  const auto* result = data->as_object().if_contains("result");
  if (!type || !type->is_string() || !result) return make_error(ErrorKind::kUpstream, "no result");
  if (type->as_string() == "scalar") {
    if (auto v = sample(*result)) return *v;
    return make_error(ErrorKind::kUpstream, "scalar without a finite value");
  }
  if (type->as_string() != "vector" || !result->is_array()) {
    return make_error(ErrorKind::kUpstream, "result type '" + std::string(type->as_string()) + "' (want vector or scalar)");
  }
  if (result->as_array().empty()) return make_error(ErrorKind::kUpstream, "empty result");
  double sum = 0;
  for (const auto& series : result->as_array()) {
    const auto* value = series.is_object() ? series.as_object().if_contains("value") : nullptr;
    auto v = value ? sample(*value) : std::nullopt;
    if (!v) return make_error(ErrorKind::kUpstream, "a series without a finite value");
    sum += *v;
  }
  return sum;
}

std::map<std::string, double> PromSource::query_all(std::vector<std::string>* errors) const {
  std::map<std::string, double> out;
  const auto timeout = std::chrono::milliseconds(static_cast<int64_t>(c_.timeout_s * 1000));
  for (const auto& [name, query] : c_.queries) {
    auto res = api_.request("GET", prefix_ + "/api/v1/query?query=" + http::percent_encode(query), "", "", timeout);
    if (!res) {
      if (errors) errors->push_back(name + ": " + res.error().message);
      continue;
    }
    auto v = parse_value(res->body);
    if (!v) {
      if (errors) errors->push_back(name + ": HTTP " + std::to_string(res->status) + ", " + v.error().message);
      continue;
    }
    out[name] = *v;
  }
  return out;
}

}  // namespace tidal::scaling
