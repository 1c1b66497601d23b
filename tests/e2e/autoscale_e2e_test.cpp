// `tidal serve` autoscaling real `tidal engine` processes: it grows under a `tidal
// bench` load (and scrapes the engines' metrics meanwhile), shrinks after it with no
// failed request, replaces a killed replica, and leaves no process behind on SIGTERM.
#include <gtest/gtest.h>
#include <signal.h>

#include <boost/json.hpp>
#include <filesystem>
#include <fstream>
#include <set>

#include "e2e/support.h"

namespace tidal::e2e {
namespace {

using namespace std::chrono_literals;
namespace json = boost::json;

std::string write_config() {
  const std::string path = ::testing::TempDir() + "/" + unique("autoscale") + ".yaml";
  std::ofstream out(path);
  out << "gateway: {port: 0}\n"
      << R"(health: {interval_ms: 100}
scrape: {interval_ms: 200}
pools:
- name: default
  local: {count: 1, args: ["--preset=cpu-tiny"], ready_timeout_s: 20, stop_grace_s: 5}
  scaling:
    policy: hpa
    interval_s: 0.5
    minReplicas: 1
    maxReplicas: 4
    metrics:
    - type: External
      external: {metric: {name: concurrency}, target: {type: AverageValue, averageValue: 4}}
    behavior:
      scaleDown:
        stabilizationWindowSeconds: 3
        policies: [{type: Pods, value: 4, periodSeconds: 1}]
)";
  return path;
}

struct Fleet {
  int ready = -1, starting = -1, draining = -1;
  std::set<std::string> urls;
};

Fleet fleet(uint16_t port) {
  Fleet f;
  const json::value doc = admin_scaling(port);
  if (!doc.is_object()) return f;
  const auto& pool = doc.at("pools").at(0).at("fleet");
  f.ready = static_cast<int>(pool.at("ready").as_int64());
  f.starting = static_cast<int>(pool.at("starting").as_int64());
  f.draining = static_cast<int>(pool.at("draining").as_int64());
  for (const auto& m : pool.at("replicas").as_array()) f.urls.insert(std::string(m.at("url").as_string()));
  return f;
}

std::vector<pid_t> children_of(pid_t parent) {
  std::vector<pid_t> out;
  for (const auto& e : std::filesystem::directory_iterator("/proc")) {
    const std::string name = e.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream stat(e.path() / "stat");
    std::string line;
    std::getline(stat, line);
    const size_t close = line.rfind(')');
    if (close == std::string::npos) continue;
    std::istringstream rest(line.substr(close + 2));
    char state = 0;
    pid_t ppid = 0;
    rest >> state >> ppid;
    if (ppid == parent && state != 'Z') out.push_back(std::stoi(name));
  }
  return out;
}

bool alive(pid_t pid) { return ::kill(pid, 0) == 0 && std::filesystem::exists("/proc/" + std::to_string(pid)); }

TEST(ServeAutoscaleE2E, GrowsUnderLoadScrapesEnginesShrinksAfterReplacesAKilledReplicaAndLeavesNoProcess) {
  Process serve({"serve", "-c", write_config()});
  const uint16_t port = gateway_port(serve);
  ASSERT_TRUE(wait_until([&] { return fleet(port).ready == 1; }, 30s)) << serve.log();

  // Load: 16 concurrent streams against a target of 4 per replica.
  const std::string report = ::testing::TempDir() + "/" + unique("autoscale_bench") + ".json";
  Process bench({"bench", "--url", url(port), "--concurrency", "16", "--duration", "8", "--stream", "--output-tokens",
                 "64", "--json", report});
  EXPECT_TRUE(wait_until([&] { return fleet(port).ready >= 3; }, 20s)) << serve.log();
  // The engines' own metrics (vLLM dialect) reach the controller through the scrapers,
  // and each replica process's CPU and memory from /proc.
  EXPECT_TRUE(wait_until([&] {
    auto r = call(port, "GET", "/admin/scaling", {}, 1000ms);
    if (r.status != 200) return false;
    const json::value doc = json::parse(r.body);
    bool kv = false, host = false;
    for (const auto& m : doc.at("pools").at(0).at("fleet").at("replicas").as_array()) {
      kv = kv || (m.at("kv_usage").is_double() && m.at("kv_usage").as_double() > 0);
      host = host || (m.at("memory_bytes").is_double() && m.at("memory_bytes").as_double() > 0 &&
                      m.at("cpu_pct").is_double() && m.at("cpu_pct").as_double() > 0);
    }
    return kv && host;
  }, 10s)) << "no replica reported KV-cache usage and CPU/memory";
  ASSERT_EQ(bench.wait(60s), 0) << bench.log();
  {
    const auto r = read_json(report);
    EXPECT_GT(r.at("requests").as_int64(), 20);
    EXPECT_EQ(r.at("errors").as_int64(), 0) << json::serialize(r);
  }

  // Idle: back to minReplicas, drained (no replica left draining).
  ASSERT_TRUE(wait_until([&] { auto f = fleet(port); return f.ready == 1 && f.starting == 0 && f.draining == 0; }, 30s))
      << serve.log();
  const std::string metrics = call(port, "GET", "/metrics").body;
  EXPECT_GE(metric_sum(metrics, "tidal_scaling_decisions_total", "direction=\"up\""), 1);
  EXPECT_GE(metric_sum(metrics, "tidal_scaling_decisions_total", "direction=\"down\""), 1);
  EXPECT_EQ(metric(metrics, "tidal_replicas{pool=\"default\",state=\"ready\"}"), 1);
  EXPECT_EQ(metric(metrics, "tidal_desired_replicas{pool=\"default\"}"), 1);
  ASSERT_EQ(call(port, "POST", "/v1/chat/completions", chat_body("still there?", 3)).status, 200u);

  // A replica killed from outside is replaced.
  // Stopped replicas exit on SIGTERM in their own time: await it.
  ASSERT_TRUE(wait_until([&] { return children_of(serve.pid()).size() == 1; }, 15s))
      << "only the remaining replica runs: " << serve.log();
  auto engines = children_of(serve.pid());
  const std::set<std::string> before = fleet(port).urls;
  ASSERT_EQ(::kill(engines[0], SIGKILL), 0);
  EXPECT_TRUE(wait_until([&] { auto f = fleet(port); return f.ready == 1 && f.urls != before; }, 30s)) << serve.log();
  EXPECT_EQ(call(port, "POST", "/v1/chat/completions", chat_body("and now?", 3)).status, 200u);

  // SIGTERM: serve exits cleanly and no engine survives it.
  engines = children_of(serve.pid());
  ASSERT_FALSE(engines.empty());
  serve.signal(SIGTERM);
  EXPECT_EQ(serve.wait(30s), 0) << serve.log();
  for (pid_t pid : engines) EXPECT_TRUE(wait_until([&] { return !alive(pid); }, 10s)) << "engine " << pid << " survived";
}

TEST(ServeAutoscaleE2E, ScalesToZeroWhenIdleAndBackOnTheNextRequestWithNo5xxAndKeepsWaitingStreamsAlive) {
  const std::string path = ::testing::TempDir() + "/" + unique("zero") + ".yaml";
  {
    std::ofstream out(path);
    out << "gateway: {port: 0, stream_keepalive_s: 0.2}\n"
        << R"(health: {interval_ms: 50}
pools:
- name: default
  queue_timeout_s: 30
  local: {count: 1, args: ["--preset=cpu-tiny", "--startup-delay-s=1"], ready_timeout_s: 20, stop_grace_s: 5}
  scaling:
    policy: hpa
    interval_s: 0.2
    window_s: 1
    minReplicas: 0
    maxReplicas: 2
    scale_to_zero_after_s: 1
    metrics:
    - type: External
      external: {metric: {name: concurrency}, target: {type: AverageValue, averageValue: 4}}
    behavior:
      scaleDown: {stabilizationWindowSeconds: 1}
)";
  }
  Process serve({"serve", "-c", path});
  const uint16_t port = gateway_port(serve);
  // Idle from the start: it goes to zero, and the engine process with it.
  ASSERT_TRUE(wait_until([&] { auto f = fleet(port); return f.ready == 0 && f.starting == 0 && f.draining == 0; }, 30s))
      << serve.log();
  ASSERT_TRUE(wait_until([&] { return children_of(serve.pid()).empty(); }, 10s)) << "the engine outlived scale-to-zero";

  // A stream at zero waits for the cold start (>= 1 s) with SSE keep-alive comments
  // every 0.2 s, then gets its tokens.
  auto s = call(port, "POST", "/v1/chat/completions", chat_body("and stream", 4, true), 30000ms);
  EXPECT_EQ(s.status, 200u) << s.body;
  EXPECT_EQ(s.body.rfind(": waiting for a replica to start\n\n", 0), 0u) << s.body;
  EXPECT_NE(s.body.find("data: [DONE]"), std::string::npos) << s.body;
  ASSERT_TRUE(wait_until([&] { auto f = fleet(port); return f.ready == 0 && f.starting == 0 && f.draining == 0; }, 30s))
      << serve.log();
  // A plain request at zero waits for the cold start instead of failing.
  auto r = call(port, "POST", "/v1/chat/completions", chat_body("wake up", 4), 30000ms);
  EXPECT_EQ(r.status, 200u) << r.body << serve.log();

  // Idle again: back to zero.
  EXPECT_TRUE(wait_until([&] { auto f = fleet(port); return f.ready == 0 && f.starting == 0 && f.draining == 0; }, 30s))
      << serve.log();
  const std::string metrics = call(port, "GET", "/metrics").body;
  EXPECT_EQ(metric_sum(metrics, "tidal_queue_rejected_total"), 0) << "nothing was refused at zero";
  EXPECT_EQ(metric_sum(metrics, "tidal_requests_total", "code=\"5"), 0) << "no 5xx during 0 -> 1";
  EXPECT_EQ(metric_sum(metrics, "tidal_requests_total", "code=\"200\""), 2);
  serve.signal(SIGTERM);
  EXPECT_EQ(serve.wait(30s), 0) << serve.log();
}

// actuator: dry-run in front of an engine tidal did not start: the controller decides
// and reports a scale-up under load, and changes nothing.
TEST(ServeAutoscaleE2E, DryRunReportsDecisionsAndChangesNothing) {
  Engine engine = start_engine({"--preset", "cpu-tiny"});
  const std::string path = ::testing::TempDir() + "/" + unique("dry") + ".yaml";
  {
    std::ofstream out(path);
    out << "gateway: {port: 0}\nhealth: {interval_ms: 100}\npools:\n- name: default\n"
        << "  replicas: [" << url(engine.port) << "]\n"
        << R"(  scaling:
    actuator: dry-run
    policy: hpa
    interval_s: 0.2
    metrics:
    - type: External
      external: {metric: {name: concurrency}, target: {type: AverageValue, averageValue: 2}}
)";
  }
  Process serve({"serve", "-c", path});
  const uint16_t port = gateway_port(serve);
  ASSERT_TRUE(wait_until([&] { return fleet(port).ready == 1; }, 30s)) << serve.log();
  Process bench({"bench", "--url", url(port), "--concurrency", "8", "--duration", "3", "--no-progress"});
  int wanted = 0;
  EXPECT_TRUE(wait_until([&] {
    auto r = call(port, "GET", "/admin/scaling", {}, 1000ms);
    if (r.status != 200) return false;
    const json::value doc = json::parse(r.body);
    const auto& pool = doc.at("pools").at(0);
    if (!pool.as_object().contains("last_decision")) return false;
    wanted = static_cast<int>(pool.at("last_decision").at("desired").as_int64());
    return pool.at("actuator").as_string() == "dry-run" && wanted >= 3;
  }, 20s)) << serve.log();
  ASSERT_EQ(bench.wait(30s), 0) << bench.log();
  const Fleet f = fleet(port);
  EXPECT_EQ(f.ready, 1) << "nothing was started";
  EXPECT_EQ(f.starting, 0);
  EXPECT_TRUE(children_of(serve.pid()).empty()) << "dry-run spawns no process";
  EXPECT_NE(serve.log().find("dry-run: not applied"), std::string::npos);
  serve.signal(SIGTERM);
  EXPECT_EQ(serve.wait(30s), 0) << serve.log();
}

// `--fixed` keeps the embedded default at --replicas: a static policy, bounds = size.
// Without it the embedded default runs the recommended HPA policy.
TEST(ServeAutoscaleE2E, EmbeddedDefaultAutoscalesAndFixedKeepsTheSize) {
  for (const bool fixed : {false, true}) {
    std::vector<std::string> args{"serve", "--port", "0", "--replicas", "2",
                                  "--engine-arg=--preset=cpu-tiny"};
    if (fixed) args.push_back("--fixed");
    Process serve(args, {"TIDAL_HEALTH__INTERVAL_MS=100"});
    const uint16_t port = gateway_port(serve);
    ASSERT_TRUE(wait_until([&] { return fleet(port).ready == 2; }, 30s)) << serve.log();
    const json::value doc = json::parse(call(port, "GET", "/admin/scaling").body);
    const auto& pool = doc.at("pools").at(0);
    EXPECT_EQ(pool.at("policy").as_string(), fixed ? "static" : "hpa");
    EXPECT_EQ(pool.at("max_replicas").as_int64(), fixed ? 2 : 8);
    EXPECT_EQ(pool.at("min_replicas").as_int64(), fixed ? 2 : 1);
    serve.signal(SIGTERM);
    EXPECT_EQ(serve.wait(30s), 0) << serve.log();
  }
}

// A stream that waited at zero has its 200 already: when the wait times out, the error
// arrives as an SSE event with the OpenAI error body, and the stream ends.
TEST(ServeAutoscaleE2E, AStreamThatTimesOutAtZeroGetsTheErrorAsAnEvent) {
  const std::string path = write_temp(unique("zero_timeout") + ".yaml", R"(gateway: {port: 0, stream_keepalive_s: 0.2}
pools:
- name: default
  queue_timeout_s: 1
  local: {args: ["--preset=cpu-tiny", "--startup-delay-s=20"], ready_timeout_s: 30, stop_grace_s: 2}
  scaling:
    policy: hpa
    interval_s: 0.2
    minReplicas: 0
    maxReplicas: 1
    metrics:
    - type: External
      external: {metric: {name: concurrency}, target: {type: AverageValue, averageValue: 4}}
)");
  Process serve({"serve", "-c", path});
  const uint16_t port = gateway_port(serve);
  ASSERT_TRUE(wait_until([&] { return call(port, "GET", "/healthz", {}, 500ms).ok; }, 20s)) << serve.log();
  auto s = call(port, "POST", "/v1/chat/completions", chat_body("too early", 4, true), 30000ms);
  EXPECT_EQ(s.status, 200u) << s.body;
  EXPECT_EQ(s.body.rfind(": waiting for a replica to start\n\n", 0), 0u) << s.body;
  EXPECT_NE(s.body.find("data: {\"error\":"), std::string::npos) << s.body;
  EXPECT_NE(s.body.find("queue_timeout"), std::string::npos) << s.body;
  serve.signal(SIGTERM);
  EXPECT_EQ(serve.wait(30s), 0) << serve.log();
}

}  // namespace
}  // namespace tidal::e2e
