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
