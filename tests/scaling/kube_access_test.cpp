#include <gtest/gtest.h>

#include <fstream>

#include "scaling/io/kube_access.h"

namespace tidal::scaling {
namespace {

TEST(KubeAccessTest, ReadsTheCurrentContextWithBase64AndFileCredentials) {
  const std::string dir = ::testing::TempDir();
  std::ofstream(dir + "/token.txt") << "file-token\n";
  // "-----BEGIN CERTIFICATE-----\n" in base64, enough to check the decoding.
  const std::string yaml = R"(apiVersion: v1
kind: Config
current-context: prod
clusters:
- name: other
  cluster: {server: "https://10.9.9.9"}
- name: main
  cluster:
    server: "https://api.example.com:6443"
    certificate-authority-data: LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCg==
users:
- name: bot
  user: {tokenFile: token.txt}
contexts:
- name: prod
  context: {cluster: main, user: bot, namespace: inference}
)";
  auto a = parse_kubeconfig(yaml, dir, "kubeconfig test");
  ASSERT_TRUE(a) << a.error().message;
  EXPECT_EQ(a->endpoint.server, "https://api.example.com:6443");
  EXPECT_EQ(a->endpoint.ca_pem, "-----BEGIN CERTIFICATE-----\n");
  EXPECT_EQ(a->endpoint.bearer_token, "file-token");
  EXPECT_EQ(a->ns, "inference");
  EXPECT_EQ(a->origin, "kubeconfig test (context prod)");
}

TEST(KubeAccessTest, ExplainsWhatIsMissingOrUnsupported) {
  auto err = [](const std::string& yaml) {
    auto a = parse_kubeconfig(yaml, "/tmp", "kc");
    return a ? std::string("ok") : a.error().message;
  };
  EXPECT_EQ(err("clusters: []"), "kc: has no current-context");
  EXPECT_EQ(err("current-context: x\ncontexts: []"), "kc: has no context 'x'");
  EXPECT_NE(err("current-context: x\ncontexts: [{name: x, context: {cluster: c, user: u}}]\n"
                "clusters: [{name: c, cluster: {server: 'https://k'}}]\nusers: [{name: u, user: {exec: {command: aws}}}]")
                .find("exec or auth-provider plugin"),
            std::string::npos);
  EXPECT_NE(err("current-context: x\ncontexts: [{name: x, context: {cluster: c}}]\n"
                "clusters: [{name: c, cluster: {server: 'https://k', certificate-authority-data: '!!'}}]")
                .find("not base64"),
            std::string::npos);
}

}  // namespace
}  // namespace tidal::scaling

#include "scaling/io/endpoint_slices.h"

namespace tidal::scaling {
namespace {

TEST(EndpointSlicesTest, PicksTheNamedPortAndReadsConditionsPerTheApi) {
  auto l = EndpointSliceWatch::parse_list(R"({"kind":"EndpointSliceList","apiVersion":"discovery.k8s.io/v1",
    "metadata":{"resourceVersion":"4711"},"items":[
    {"metadata":{"name":"vllm-abc"},"addressType":"IPv4",
     "ports":[{"name":"metrics","port":9100,"protocol":"TCP"},{"name":"http","port":8000,"protocol":"TCP"}],
     "endpoints":[{"addresses":["10.0.0.5"],"conditions":{"ready":true,"terminating":false},"targetRef":{"kind":"Pod","name":"vllm-1"}},
                  {"addresses":["10.0.0.6"],"conditions":{"ready":false,"terminating":true},"targetRef":{"kind":"Pod","name":"vllm-2"}},
                  {"addresses":["10.0.0.7"]}]},
    {"metadata":{"name":"vllm-v6"},"addressType":"IPv6","ports":[{"name":"http","port":8000}],
     "endpoints":[{"addresses":["fd00::9"],"targetRef":{"kind":"Pod","name":"vllm-3"}}]},
    {"metadata":{"name":"vllm-fqdn"},"addressType":"FQDN","ports":[{"name":"http","port":8000}],
     "endpoints":[{"addresses":["x.example.com"]}]}]})", "http");
  ASSERT_TRUE(l) << l.error().message;
  EXPECT_EQ(l->resource_version, "4711");
  ASSERT_EQ(l->slices.size(), 3u);
  const auto& a = l->slices.at("vllm-abc");
  EXPECT_EQ(a.at("vllm-1").url, "http://10.0.0.5:8000");
  EXPECT_TRUE(a.at("vllm-1").ready);
  EXPECT_TRUE(a.at("vllm-2").terminating);
  EXPECT_TRUE(a.at("10.0.0.7").ready);  // no targetRef: keyed by address; unset conditions: ready, not terminating
  EXPECT_FALSE(a.at("10.0.0.7").terminating);
  EXPECT_EQ(l->slices.at("vllm-v6").at("vllm-3").url, "http://[fd00::9]:8000");
  EXPECT_TRUE(l->slices.at("vllm-fqdn").empty());
  EXPECT_FALSE(EndpointSliceWatch::parse_list(R"({"kind":"Status","code":403})", "http"));
}

}  // namespace
}  // namespace tidal::scaling
