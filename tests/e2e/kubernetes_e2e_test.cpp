// The kubernetes actuator against a fake Kubernetes API server (no real API server can
// run on these machines). The fake answers the requests tidal makes with bodies shaped
// like the real API's (autoscaling/v1 Scale, discovery.k8s.io/v1 EndpointSliceList,
// core/v1 Pod), checks paths, verbs, content types, the bearer token and patch bodies,
// and plays a minimal Deployment controller: spec.replicas is backed by real `tidal
// engine` processes ("pods") on loopback, and scaling down deletes the pod with the
// lowest controller.kubernetes.io/pod-deletion-cost, as the ReplicaSet controller does.
// EndpointSlices are listed and then watched (the fake streams ADDED/DELETED events).
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <fstream>
#include <map>
#include <mutex>

#include "e2e/support.h"
#include "http/server.h"

namespace tidal::e2e {
namespace {

using namespace std::chrono_literals;
namespace json = boost::json;
namespace bhttp = http::bhttp;

class FakeKubeApi {
 public:
  static constexpr const char* kToken = "tidal-test-token";
  FakeKubeApi()
      : server_(http::ServerOptions{.port = 0, .threads = 1, .watch_disconnect = false},
                [this](http::ServerRequest& req, http::Exchange& ex) -> http::awaitable<void> {
                  if (std::string_view(req.target()).find("&watch=1") != std::string_view::npos) {
                    co_await watch(req, ex);
                    co_return;
                  }
                  http::Response res = handle(req);
                  co_await ex.respond(std::move(res));
                }) {
    server_.listen();
    server_.start();
    resize(1);
  }
  ~FakeKubeApi() {
    server_.stop();
    server_.join();
    server_.shutdown();
  }
  uint16_t port() const { return server_.port(); }

  int replicas() {
    std::lock_guard lock(mu_);
    return replicas_;
  }
  std::vector<std::string> errors() {
    std::lock_guard lock(mu_);
    return errors_;
  }
  std::vector<std::string> deleted() {
    std::lock_guard lock(mu_);
    return deleted_;
  }
  std::vector<std::string> marked() {  // pods given a deletion cost, in order
    std::lock_guard lock(mu_);
    return marked_;
  }
  size_t scale_patches() {
    std::lock_guard lock(mu_);
    return scale_patches_;
  }
  size_t lists() {
    std::lock_guard lock(mu_);
    return lists_;
  }
  size_t watches() {
    std::lock_guard lock(mu_);
    return watches_;
  }

 private:
  struct Pod {
    std::string name;
    Engine engine;
    int deletion_cost = 0;
  };

  static http::Response reply(unsigned status, const json::value& body) {
    http::Response r{static_cast<bhttp::status>(status), 11};
    r.set(bhttp::field::content_type, "application/json");
    r.body() = json::serialize(body);
    r.prepare_payload();
    return r;
  }
  static json::object status_error(unsigned code, const std::string& reason, const std::string& message) {
    return json::object{{"kind", "Status"}, {"apiVersion", "v1"}, {"metadata", json::object{}}, {"status", "Failure"},
                        {"message", message}, {"reason", reason}, {"code", code}};
  }
  json::object scale_body() const {
    return json::object{{"kind", "Scale"},
                        {"apiVersion", "autoscaling/v1"},
                        {"metadata", json::object{{"name", "vllm"}, {"namespace", "inference"}, {"uid", "7c1d2c5e-5b0a-4c33-9d0f-2f8e1b1f3a10"},
                                                  {"resourceVersion", std::to_string(1000 + scale_patches_)},
                                                  {"creationTimestamp", "2026-11-23T09:00:00Z"}}},
                        {"spec", json::object{{"replicas", replicas_}}},
                        {"status", json::object{{"replicas", static_cast<int64_t>(pods_.size())}, {"selector", "app=vllm"}}}};
  }
  // One slice per pod here (ports differ on loopback; a real cluster shares one port).
  json::object slice_of(const Pod& p, int rv) const {
    return json::object{
        {"kind", "EndpointSlice"},
        {"apiVersion", "discovery.k8s.io/v1"},
        {"metadata", json::object{{"name", "vllm-" + p.name},
                                  {"namespace", "inference"},
                                  {"resourceVersion", std::to_string(rv)},
                                  {"labels", json::object{{"kubernetes.io/service-name", "vllm"},
                                                          {"endpointslice.kubernetes.io/managed-by", "endpointslice-controller.k8s.io"}}}}},
        {"addressType", "IPv4"},
        {"endpoints", json::array{json::object{
                          {"addresses", json::array{"127.0.0.1"}},
                          {"conditions", json::object{{"ready", true}, {"serving", true}, {"terminating", false}}},
                          {"targetRef", json::object{{"kind", "Pod"}, {"namespace", "inference"}, {"name", p.name}, {"uid", "uid-" + p.name}}},
                          {"nodeName", "node-1"}}}},
        {"ports", json::array{json::object{{"name", "http"}, {"protocol", "TCP"}, {"port", p.engine.port}}}}};
  }
  json::object slices_body() const {
    json::array items;
    for (const auto& p : pods_) items.push_back(slice_of(p, version_));
    return json::object{{"kind", "EndpointSliceList"}, {"apiVersion", "discovery.k8s.io/v1"},
                        {"metadata", json::object{{"resourceVersion", std::to_string(version_)}}}, {"items", std::move(items)}};
  }
  // A watch: the events after the client's resourceVersion, then new ones as they happen
  // (one JSON object per line, as the API server streams them), until the server stops.
  http::awaitable<void> watch(http::ServerRequest& req, http::Exchange& ex) {
    const std::string target(req.target());
    int from = 0;
    {
      std::lock_guard lock(mu_);
      ++watches_;
      const size_t at = target.find("resourceVersion=");
      if (req[bhttp::field::authorization] != std::string("Bearer ") + kToken || at == std::string::npos) {
        errors_.push_back("bad watch " + target);
      } else {
        from = std::stoi(target.substr(at + 16));
      }
    }
    bhttp::response<bhttp::empty_body> head{bhttp::status::ok, 11};
    head.set(bhttp::field::content_type, "application/json");
    const bool open = co_await ex.start_stream(std::move(head));
    if (!open) co_return;
    http::asio::steady_timer timer(co_await http::asio::this_coro::executor);
    while (true) {
      std::string lines;
      {
        std::lock_guard lock(mu_);
        for (const auto& [rv, line] : events_) {
          if (rv > from) lines += line + "\n";
        }
        from = version_;
      }
      if (!lines.empty()) {
        const bool sent = co_await ex.write_chunk(lines);
        if (!sent) co_return;
      }
      timer.expires_after(std::chrono::milliseconds(50));
      auto [ec] = co_await timer.async_wait(http::use_tuple);
      if (ec) co_return;
    }
  }
  // The Deployment controller's part: pods follow spec.replicas; the lowest deletion cost goes first.
  void resize(int n) {
    replicas_ = n;
    while (static_cast<int>(pods_.size()) < n) {
      Pod p;
      p.name = "vllm-6f7c9d8b5-" + std::to_string(next_pod_++);
      p.engine = start_engine();
      pods_.push_back(std::move(p));
      ++version_;
      events_.push_back({version_, json::serialize(json::object{{"type", "ADDED"}, {"object", slice_of(pods_.back(), version_)}})});
    }
    while (static_cast<int>(pods_.size()) > n) {
      auto victim = std::min_element(pods_.begin(), pods_.end(),
                                     [](const Pod& a, const Pod& b) { return a.deletion_cost < b.deletion_cost; });
      deleted_.push_back(victim->name);
      ++version_;
      events_.push_back({version_, json::serialize(json::object{{"type", "DELETED"}, {"object", slice_of(*victim, version_)}})});
      pods_.erase(victim);
    }
  }

  http::Response handle(http::ServerRequest& req) {
    std::lock_guard lock(mu_);
    const std::string target(req.target()), method(req.method_string());
    if (req[bhttp::field::authorization] != std::string("Bearer ") + kToken) {
      errors_.push_back("no or wrong bearer token on " + method + " " + target);
      return reply(401, status_error(401, "Unauthorized", "Unauthorized"));
    }
    const std::string scale = "/apis/apps/v1/namespaces/inference/deployments/vllm/scale";
    if (target == scale && method == "GET") return reply(200, scale_body());
    if (target == scale && method == "PATCH") {
      if (req[bhttp::field::content_type] != "application/merge-patch+json") errors_.push_back("scale patch content type");
      json::error_code ec;
      const json::value body = json::parse(req.body(), ec);
      const json::value* n = ec ? nullptr : body.find_pointer("/spec/replicas", ec);
      if (!n || !n->is_int64() || body.as_object().size() != 1) {
        errors_.push_back("bad scale patch: " + req.body());
        return reply(422, status_error(422, "Invalid", "bad patch"));
      }
      ++scale_patches_;
      resize(static_cast<int>(n->as_int64()));
      return reply(200, scale_body());
    }
    if (target == "/apis/discovery.k8s.io/v1/namespaces/inference/endpointslices?labelSelector=kubernetes.io%2Fservice-name%3Dvllm" &&
        method == "GET") {
      ++lists_;
      return reply(200, slices_body());
    }
    const std::string pods = "/api/v1/namespaces/inference/pods/";
    if (target.starts_with(pods) && method == "PATCH") {
      const std::string name = target.substr(pods.size());
      auto it = std::find_if(pods_.begin(), pods_.end(), [&](const Pod& p) { return p.name == name; });
      if (it == pods_.end()) return reply(404, status_error(404, "NotFound", "pods \"" + name + "\" not found"));
      json::error_code ec;
      const json::value body = json::parse(req.body(), ec);
      const json::value* cost = ec ? nullptr : body.find_pointer("/metadata/annotations/controller.kubernetes.io~1pod-deletion-cost", ec);
      if (!cost || !cost->is_string() || req[bhttp::field::content_type] != "application/merge-patch+json") {
        errors_.push_back("bad pod patch: " + req.body());
        return reply(422, status_error(422, "Invalid", "bad patch"));
      }
      it->deletion_cost = std::stoi(std::string(cost->as_string()));
      marked_.push_back(name);
      return reply(200, json::object{{"kind", "Pod"}, {"apiVersion", "v1"}, {"metadata", json::object{{"name", name}, {"namespace", "inference"}}}});
    }
    errors_.push_back("unexpected request " + method + " " + target);
    return reply(404, status_error(404, "NotFound", "the server could not find the requested resource"));
  }

  std::mutex mu_;
  http::Server server_;
  int replicas_ = 0, next_pod_ = 0, version_ = 5000;
  size_t scale_patches_ = 0, lists_ = 0, watches_ = 0;
  std::vector<std::pair<int, std::string>> events_;  // (resourceVersion, watch event line)
  std::vector<Pod> pods_;
  std::vector<std::string> errors_, deleted_, marked_;
};

// A kubeconfig for the fake API server, authenticating with `token`.
std::string kubeconfig_for(uint16_t api_port, const std::string& token) {
  return write_temp("kubeconfig_" + std::to_string(api_port) + "_" + token,
                    "apiVersion: v1\nkind: Config\ncurrent-context: test\n"
                    "clusters:\n- name: fake\n  cluster: {server: \"http://127.0.0.1:" + std::to_string(api_port) + "\"}\n"
                    "users:\n- name: tidal\n  user: {token: " + token + "}\n"
                    "contexts:\n- name: test\n  context: {cluster: fake, user: tidal, namespace: inference}\n");
}

// `tidal serve` scaling the fake's Deployment with the hpa policy on concurrency (4 per replica).
std::string serve_config(const std::string& kubeconfig) {
  return write_temp(unique("kube") + ".yaml", R"(gateway: {port: 0}
health: {interval_ms: 100}
pools:
- name: default
  scaling:
    policy: hpa
    actuator: kubernetes
    interval_s: 0.5
    minReplicas: 1
    maxReplicas: 3
    drain_timeout_s: 10
    kubernetes: {kubeconfig: )" + kubeconfig + R"(, deployment: vllm, service: vllm, port: http, sync_interval_s: 0.5}
    metrics:
    - type: External
      external: {metric: {name: concurrency}, target: {type: AverageValue, averageValue: 4}}
    behavior:
      scaleDown:
        stabilizationWindowSeconds: 3
        policies: [{type: Pods, value: 4, periodSeconds: 1}]
)");
}

TEST(ServeKubernetesE2E, ScalesADeploymentThroughTheApiAndRemovesTheDrainedPod) {
  FakeKubeApi api;
  const std::string config = serve_config(kubeconfig_for(api.port(), FakeKubeApi::kToken));
  Process serve({"serve", "-c", config});
  const uint16_t port = gateway_port(serve);
  auto ready = [&] {
    const json::value d = admin_scaling(port);
    return d.is_object() ? static_cast<int>(d.at("pools").at(0).at("fleet").at("ready").as_int64()) : -1;
  };
  ASSERT_TRUE(wait_until([&] { return ready() == 1; }, 30s)) << serve.log();

  const std::string report = ::testing::TempDir() + "/" + unique("kube_bench") + ".json";
  Process bench({"bench", "--url", url(port), "--concurrency", "12", "--duration", "6", "--stream", "--output-tokens",
                 "64", "--json", report});
  EXPECT_TRUE(wait_until([&] { return api.replicas() >= 2 && ready() >= 2; }, 30s)) << serve.log();
  ASSERT_EQ(bench.wait(60s), 0) << bench.log();
  {
    const auto r = read_json(report);
    EXPECT_GT(r.at("requests").as_int64(), 10);
    EXPECT_EQ(r.at("errors").as_int64(), 0) << json::serialize(r);
  }
  const int peak = api.replicas();
  // Idle: back to one replica; each removed pod is one tidal marked first.
  EXPECT_TRUE(wait_until([&] { return api.replicas() == 1 && ready() == 1; }, 40s)) << serve.log();
  const auto deleted = api.deleted(), marked = api.marked();
  EXPECT_EQ(static_cast<int>(deleted.size()), peak - 1);
  for (const auto& d : deleted) EXPECT_NE(std::find(marked.begin(), marked.end(), d), marked.end()) << d << " was not the drained pod";
  EXPECT_GE(api.scale_patches(), 2u);
  // Discovery watched the slices instead of listing them every sync interval (0.5 s here).
  EXPECT_GE(api.watches(), 1u);
  EXPECT_LE(api.lists(), 2u);
  EXPECT_TRUE(api.errors().empty()) << api.errors().front();
  // Requests still go to the remaining pod.
  EXPECT_EQ(call(port, "POST", "/v1/chat/completions", chat_body("hi", 4)).status, 200u);
  serve.signal(SIGTERM);
  EXPECT_EQ(serve.wait(20s), 0) << serve.log();
  EXPECT_EQ(api.replicas(), 1);  // tidal leaves the Deployment as it was at exit
}

TEST(ServeKubernetesE2E, AnUnreachableOrRefusingApiServerIsAClearStartupError) {
  FakeKubeApi api;
  const std::string config = serve_config(kubeconfig_for(api.port(), "wrong"));  // the API answers 401
  Process serve({"serve", "-c", config});
  EXPECT_EQ(serve.wait(20s), 1) << serve.log();
  EXPECT_NE(serve.log().find("HTTP 401"), std::string::npos) << serve.log();
}

}  // namespace
}  // namespace tidal::e2e
