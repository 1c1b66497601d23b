// The slo policy in `tidal serve` calibrates itself on real engine processes: the gateway
// counts streamed tokens and TPOT, the controller fits the step-time model from finished
// requests, and GET /admin/scaling shows the fit beating its (deliberately wrong) prior.
// The predictive policy's forecast survives a restart (predictive.history_file).
#include <gtest/gtest.h>
#include <signal.h>

#include <boost/json.hpp>
#include <filesystem>
#include <iostream>

#include "e2e/support.h"

namespace tidal::e2e {
namespace {

using namespace std::chrono_literals;
namespace json = boost::json;

TEST(ServeSloPolicyE2E, FitsTheEnginesStepModelFromTrafficAndReportsIt) {
  // Engines are cpu-tiny; the prior is an H100 preset, orders of magnitude off.
  const std::string path = write_temp(unique("slo") + ".yaml", R"(gateway: {port: 0}
health: {interval_ms: 100}
pools:
- name: default
  local: {count: 1, args: ["--preset=cpu-tiny"], ready_timeout_s: 20, stop_grace_s: 5}
  scaling:
    policy: slo
    interval_s: 0.5
    minReplicas: 1
    maxReplicas: 3
    slo: {ttft_p95_ms: 5000, tpot_ms: 500, prior: llama3-8b-h100}
)");
  Process serve({"serve", "-c", path});
  const uint16_t port = gateway_port(serve);
  ASSERT_TRUE(wait_until([&] {
    auto d = admin_scaling(port);
    return d.is_object() && d.at("pools").at(0).at("fleet").at("ready").as_int64() >= 1;
  }, 30s)) << serve.log();

  // Traffic in rounds of 3 s until the controller has fitted enough intervals (one
  // sample per 0.5 s tick with traffic): a slow build (ASan) gets more rounds, not a
  // shorter fit.
  bool tokens_seen = false, fitted = false;
  const auto give_up = std::chrono::steady_clock::now() + 90s;
  while (!fitted && std::chrono::steady_clock::now() < give_up) {
    Process bench({"bench", "--url", url(port), "--concurrency", "4", "--duration", "3", "--stream",
                   "--output-tokens", "32"});
    ASSERT_EQ(bench.wait(60s), 0) << bench.log();
    auto d = admin_scaling(port);
    ASSERT_TRUE(d.is_object());
    const auto& load = d.at("pools").at(0).at("load");
    tokens_seen = tokens_seen || (load.at("output_tokens_per_s").as_double() > 0 && load.at("tpot_p95_ms").as_double() > 0);
    const auto& pol = d.at("pools").at(0).at("policies");
    fitted = tokens_seen && pol.as_object().contains("slo") && pol.at("slo").at("fit_decode_samples").as_double() >= 10;
  }
  ASSERT_TRUE(fitted) << serve.log();
  const json::value d = admin_scaling(port);
  ASSERT_TRUE(d.is_object());
  const auto& slo = d.at("pools").at(0).at("policies").at("slo");
  const double fit_err = slo.at("fit_rel_error").as_double(), prior_err = slo.at("prior_rel_error").as_double();
  EXPECT_LT(fit_err, prior_err) << json::serialize(slo);
  EXPECT_LT(fit_err, 0.5) << json::serialize(slo);
  EXPECT_GT(slo.at("capacity_rps_per_replica").as_double(), 0) << json::serialize(slo);
  EXPECT_TRUE(tokens_seen);
  std::cout << "fitted: " << json::serialize(slo) << "\n";
}

// predictive.history_file: the forecast is saved on exit and restored on the next start.
TEST(ServePredictiveE2E, TheForecastOutlivesARestart) {
  const std::string history = ::testing::TempDir() + "/" + unique("history") + ".sqlite";
  const std::string path = write_temp(unique("predictive") + ".yaml", R"(gateway: {port: 0}
health: {interval_ms: 100}
pools:
- name: default
  local: {count: 1, args: ["--preset=cpu-tiny"], ready_timeout_s: 20, stop_grace_s: 5}
  scaling:
    policy: predictive
    interval_s: 0.2
    minReplicas: 1
    maxReplicas: 2
    predictive: {rps_per_replica: 100, bucket_s: 1, lead_s: 1, history_file: )" + history + "}\n");
  for (int run = 0; run < 2; ++run) {
    Process serve({"serve", "-c", path});
    const uint16_t port = gateway_port(serve);
    ASSERT_TRUE(wait_until([&] { return call(port, "GET", "/healthz", {}, 500ms).status == 200; }, 30s)) << serve.log();
    ASSERT_EQ(call(port, "POST", "/v1/chat/completions", chat_body("hi", 2)).status, 200u);
    // The predictive policy has voted (its reason names the forecast).
    ASSERT_TRUE(wait_until([&] {
      auto d = admin_scaling(port);
      return d.is_object() && json::serialize(d).find("forecast") != std::string::npos;
    }, 10s)) << serve.log();
    serve.signal(SIGTERM);
    ASSERT_EQ(serve.wait(30s), 0) << serve.log();
    const bool restored = serve.log().find("restored predictive policy memory pool=default") != std::string::npos;
    EXPECT_EQ(restored, run == 1) << serve.log();
    ASSERT_TRUE(std::filesystem::exists(history));
  }
}

}  // namespace
}  // namespace tidal::e2e
