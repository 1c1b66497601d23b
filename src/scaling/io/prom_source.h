// Signals from a Prometheus server (scaling.prometheus): each configured PromQL query is
// evaluated through the HTTP API (GET /api/v1/query) every controller tick, and its
// value becomes a pool metric of that name. An instant vector's samples are summed; a
// scalar is taken as is; an error, a timeout, an empty or non-finite result leaves the
// metric missing (the hpa policy then never shrinks on it).
#pragma once

#include <map>
#include <string>

#include "common/error.h"
#include "http/api_client.h"
#include "scaling/config.h"

namespace tidal::scaling {

class PromSource {
 public:
  static Result<PromSource> create(const PrometheusSource& config);
  // name -> value for the queries that answered; `errors` gets one line per failure.
  [[nodiscard]] std::map<std::string, double> query_all(std::vector<std::string>* errors = nullptr) const;

  // The value of a /api/v1/query response body; an error message otherwise.
  [[nodiscard]] static Result<double> parse_value(const std::string& body);

 private:
  PromSource(http::ApiClient api, std::string prefix, PrometheusSource c)
      : api_(std::move(api)), prefix_(std::move(prefix)), c_(std::move(c)) {}
  http::ApiClient api_;
  std::string prefix_;  // path of the server URL (a Prometheus behind a route prefix)
  PrometheusSource c_;
};

}  // namespace tidal::scaling
