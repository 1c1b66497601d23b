// The slo policy in `tidal serve` calibrates itself on real engine processes: the gateway
// counts streamed tokens and TPOT, the controller fits the step-time model from finished
// requests, and GET /admin/scaling shows the fit beating its (deliberately wrong) prior.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <fstream>
#include <iostream>

#include "e2e/support.h"

namespace tidal::e2e {
namespace {

using namespace std::chrono_literals;
namespace json = boost::json;

TEST(ServeSloPolicyE2E, FitsTheEnginesStepModelFromTrafficAndReportsIt) {
  const uint16_t port = free_port();
  const std::string path = ::testing::TempDir() + "/slo_" + std::to_string(port) + ".yaml";
  {
    std::ofstream out(path);
    // Engines are cpu-tiny; the prior is an H100 preset, orders of magnitude off.
    out << "gateway: {port: " << port << "}\n" << R"(health: {interval_ms: 100}
pools:
- name: default
  local: {count: 1, args: ["--preset=cpu-tiny"], ready_timeout_s: 20, stop_grace_s: 5}
  scaling:
    policy: slo
    interval_s: 0.5
    minReplicas: 1
    maxReplicas: 3
    slo: {ttft_p95_ms: 5000, tpot_ms: 500, prior: llama3-8b-h100}
)";
  }
  Process serve({"serve", "-c", path});
  auto scaling = [&]() -> json::value {
    auto r = call(port, "GET", "/admin/scaling", {}, 1000ms);
    return r.status == 200 ? json::parse(r.body) : json::value();
  };
  ASSERT_TRUE(wait_until([&] {
    auto d = scaling();
    return d.is_object() && d.at("pools").at(0).at("fleet").at("ready").as_int64() >= 1;
  }, 30s)) << serve.log();

  Process bench({"bench", "--url", url(port), "--concurrency", "4", "--duration", "6", "--stream", "--output-tokens",
                 "32"});
  bool tokens_seen = false;
  EXPECT_TRUE(wait_until([&] {
    auto d = scaling();
    if (!d.is_object()) return false;
    const auto& load = d.at("pools").at(0).at("load");
    tokens_seen = tokens_seen || (load.at("output_tokens_per_s").as_double() > 0 && load.at("tpot_p95_ms").as_double() > 0);
    const auto& pol = d.at("pools").at(0).at("policies");
    if (!pol.as_object().contains("slo")) return false;
    const auto& slo = pol.at("slo");
    return tokens_seen && slo.at("fit_decode_samples").as_double() >= 10;
  }, 30s)) << serve.log();
  ASSERT_EQ(bench.wait(60s), 0) << bench.log();
  const json::value d = scaling();
  ASSERT_TRUE(d.is_object());
  const auto& slo = d.at("pools").at(0).at("policies").at("slo");
  const double fit_err = slo.at("fit_rel_error").as_double(), prior_err = slo.at("prior_rel_error").as_double();
  EXPECT_LT(fit_err, prior_err) << json::serialize(slo);
  EXPECT_LT(fit_err, 0.5) << json::serialize(slo);
  EXPECT_GT(slo.at("capacity_rps_per_replica").as_double(), 0) << json::serialize(slo);
  EXPECT_TRUE(tokens_seen);
  std::cout << "fitted: " << json::serialize(slo) << "\n";
}

}  // namespace
}  // namespace tidal::e2e
