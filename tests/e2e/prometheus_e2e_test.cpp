// Signals from a real Prometheus server: `prometheus` (Debian's) scrapes `tidal serve`'s
// /metrics on loopback; the controller evaluates a PromQL query over the HTTP API every
// tick and the hpa policy scales on its value.
#include <gtest/gtest.h>
#include <signal.h>

#include <boost/json.hpp>
#include <filesystem>
#include <fstream>

#include "e2e/support.h"

namespace tidal::e2e {
namespace {

using namespace std::chrono_literals;
namespace json = boost::json;

TEST(ServePrometheusE2E, ScalesOnAPromqlQueryOverAMetricPrometheusScrapedFromTheGateway) {
  if (!std::filesystem::exists("/usr/bin/prometheus")) GTEST_FAIL() << "prometheus is not installed (scripts/setup installs it)";
  // Prometheus cannot report a port it picked, and tidal's config must name it: the one
  // port chosen ahead. tidal binds port 0 and Prometheus is told the port it logged.
  const uint16_t prom_port = free_port();
  const std::string dir = ::testing::TempDir() + "/" + unique("prom");
  std::filesystem::create_directories(dir + "/data");
  const std::string config = write_temp(unique("prom_tidal") + ".yaml", R"(gateway: {port: 0}
health: {interval_ms: 100}
pools:
- name: default
  local: {count: 1, args: ["--preset=cpu-tiny"], ready_timeout_s: 20, stop_grace_s: 5}
  scaling:
    policy: hpa
    interval_s: 0.5
    minReplicas: 1
    maxReplicas: 2
    prometheus:
      url: http://127.0.0.1:)" + std::to_string(prom_port) + R"(
      queries: {served: 'sum(tidal_requests_total{pool="default",code="200"})'}
    metrics:
    - type: External
      external: {metric: {name: served}, target: {type: AverageValue, averageValue: 3}}
    behavior: {scaleDown: {stabilizationWindowSeconds: 600}}
)");
  Process serve({"serve", "-c", config});
  const uint16_t port = gateway_port(serve);
  {
    std::ofstream out(dir + "/prometheus.yml");
    out << "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
        << "scrape_configs:\n- job_name: tidal\n  static_configs:\n  - targets: ['127.0.0.1:" << port << "']\n";
  }
  auto scaling = [&] { return admin_scaling(port); };
  ASSERT_TRUE(wait_until([&] {
    auto d = scaling();
    return d.is_object() && d.at("pools").at(0).at("fleet").at("ready").as_int64() == 1;
  }, 30s)) << serve.log();
  // No Prometheus yet: the metric is missing, the fleet holds.
  EXPECT_TRUE(scaling().at("pools").at(0).at("load").at("external").as_object().empty());

  Process prom({"--config.file=" + dir + "/prometheus.yml", "--storage.tsdb.path=" + dir + "/data",
                "--web.listen-address=127.0.0.1:" + std::to_string(prom_port)},
               {}, "/usr/bin/prometheus");
  for (int i = 0; i < 5; ++i) ASSERT_EQ(call(port, "POST", "/v1/chat/completions", chat_body("hi", 2)).status, 200u);
  // Prometheus scrapes the 5 requests; the query sums them: 5 / 3 per replica -> 2 replicas.
  double served = 0;
  EXPECT_TRUE(wait_until([&] {
    auto d = scaling();
    if (!d.is_object()) return false;
    const auto& ext = d.at("pools").at(0).at("load").at("external").as_object();
    if (const auto* v = ext.if_contains("served")) served = v->as_double();
    return served >= 5 && d.at("pools").at(0).at("fleet").at("ready").as_int64() == 2;
  }, 40s)) << "served=" << served << "\n" << serve.log() << prom.log();
  const std::string decisions = call(port, "GET", "/admin/scaling").body;
  EXPECT_NE(decisions.find("served -> 2"), std::string::npos) << decisions;
  prom.signal(SIGTERM);
  EXPECT_TRUE(prom.wait(20s).has_value());
  serve.signal(SIGTERM);
  EXPECT_EQ(serve.wait(30s), 0) << serve.log();
}

// llama.cpp's /slots reaches the controller: a llama.cpp-flavoured engine under load
// reports busy slots, shown per replica at /admin/scaling and usable as `slot_usage`.
TEST(ServeSlotsE2E, LlamaCppSlotOccupancyReachesTheController) {
  const std::string config = write_temp(unique("slots") + ".yaml", R"(gateway: {port: 0}
health: {interval_ms: 100}
scrape: {interval_ms: 100}
pools:
- name: default
  local: {count: 1, args: ["--preset=llama3-8b-q6-rtx4090", "--flavor=llamacpp"], ready_timeout_s: 20}
  scaling:
    policy: hpa
    interval_s: 0.2
    minReplicas: 1
    maxReplicas: 1
    metrics: [{type: Pods, pods: {metric: {name: slot_usage}, target: {type: AverageValue, averageValue: 0.5}}}]
)");
  Process serve({"serve", "-c", config});
  const uint16_t port = gateway_port(serve);
  ASSERT_TRUE(wait_until([&] { return call(port, "GET", "/healthz", {}, 500ms).status == 200; }, 30s)) << serve.log();
  Process bench({"bench", "--url", url(port), "--concurrency", "3", "--duration", "4", "--stream", "--output-tokens", "64"});
  double usage = -1;
  EXPECT_TRUE(wait_until([&] {
    const json::value doc = admin_scaling(port);
    if (!doc.is_object()) return false;
    const auto& reps = doc.at("pools").at(0).at("fleet").at("replicas").as_array();
    if (reps.empty() || !reps[0].at("slot_usage").is_double()) return false;
    usage = reps[0].at("slot_usage").as_double();
    return usage > 0;
  }, 15s)) << "slot_usage " << usage << "\n" << serve.log();
  EXPECT_LE(usage, 1.0);
  EXPECT_EQ(bench.wait(60s), 0) << bench.log();
}

}  // namespace
}  // namespace tidal::e2e
