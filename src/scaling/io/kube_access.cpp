#include "scaling/io/kube_access.h"

#include <openssl/evp.h>
#include <yaml-cpp/yaml.h>

#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace tidal::scaling {
namespace {

std::optional<std::string> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::optional<std::string> base64(const std::string& text) {
  std::string in;
  for (char c : text) {
    if (!std::isspace(static_cast<unsigned char>(c))) in += c;
  }
  if (in.size() % 4 != 0) return std::nullopt;
  std::string out(in.size() / 4 * 3, '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()), reinterpret_cast<const unsigned char*>(in.data()),
                                static_cast<int>(in.size()));
  if (n < 0) return std::nullopt;
  size_t pad = 0;
  while (pad < 2 && pad < in.size() && in[in.size() - 1 - pad] == '=') ++pad;
  out.resize(static_cast<size_t>(n) - pad);
  return out;
}

// The named entry of a kubeconfig list (clusters, users, contexts).
YAML::Node entry(const YAML::Node& list, const std::string& name, const char* field) {
  if (list && list.IsSequence()) {
    for (const auto& e : list) {
      if (e["name"] && e["name"].as<std::string>() == name && e[field]) return e[field];
    }
  }
  return YAML::Node(YAML::NodeType::Undefined);
}

}  // namespace

Result<KubeAccess> parse_kubeconfig(const std::string& yaml, const std::string& dir, const std::string& origin) {
  auto bad = [&](const std::string& why) { return make_error(ErrorKind::kInvalidRequest, origin + ": " + why, "kubeconfig"); };
  auto path_of = [&](const std::string& p) { return std::filesystem::path(p).is_absolute() ? p : dir + "/" + p; };
  try {
    const YAML::Node root = YAML::Load(yaml);
    if (!root || !root.IsMap()) return bad("is not a kubeconfig (a YAML mapping)");
    const std::string current = root["current-context"] ? root["current-context"].as<std::string>() : "";
    if (current.empty()) return bad("has no current-context");
    const YAML::Node ctx = entry(root["contexts"], current, "context");
    if (!ctx) return bad("has no context '" + current + "'");
    const std::string cluster_name = ctx["cluster"] ? ctx["cluster"].as<std::string>() : "";
    const YAML::Node cluster = entry(root["clusters"], cluster_name, "cluster");
    if (!cluster) return bad("has no cluster '" + cluster_name + "' (context " + current + ")");
    KubeAccess a;
    a.origin = origin + " (context " + current + ")";
    if (ctx["namespace"]) a.ns = ctx["namespace"].as<std::string>();
    if (!cluster["server"]) return bad("cluster '" + cluster_name + "' has no server");
    a.endpoint.server = cluster["server"].as<std::string>();
    if (cluster["insecure-skip-tls-verify"]) a.endpoint.insecure_skip_verify = cluster["insecure-skip-tls-verify"].as<bool>();
    if (auto d = cluster["certificate-authority-data"]) {
      auto pem = base64(d.as<std::string>());
      if (!pem) return bad("cluster '" + cluster_name + "': certificate-authority-data is not base64");
      a.endpoint.ca_pem = *pem;
    } else if (auto f = cluster["certificate-authority"]) {
      auto pem = read_file(path_of(f.as<std::string>()));
      if (!pem) return bad("cannot read certificate-authority " + f.as<std::string>());
      a.endpoint.ca_pem = *pem;
    }
    if (ctx["user"]) {
      const std::string user_name = ctx["user"].as<std::string>();
      const YAML::Node user = entry(root["users"], user_name, "user");
      if (!user) return bad("has no user '" + user_name + "' (context " + current + ")");
      if (user["token"]) {
        a.endpoint.bearer_token = user["token"].as<std::string>();
      } else if (user["tokenFile"]) {
        auto t = read_file(path_of(user["tokenFile"].as<std::string>()));
        if (!t) return bad("cannot read tokenFile " + user["tokenFile"].as<std::string>());
        a.endpoint.bearer_token = *t;
      }
      auto pem_field = [&](const char* data, const char* file, std::string& out) -> bool {
        if (user[data]) {
          auto v = base64(user[data].as<std::string>());
          if (!v) return false;
          out = *v;
        } else if (user[file]) {
          auto v = read_file(path_of(user[file].as<std::string>()));
          if (!v) return false;
          out = *v;
        }
        return true;
      };
      if (!pem_field("client-certificate-data", "client-certificate", a.endpoint.client_cert_pem) ||
          !pem_field("client-key-data", "client-key", a.endpoint.client_key_pem)) {
        return bad("user '" + user_name + "': unreadable client certificate or key");
      }
      if (user["exec"] || user["auth-provider"]) {
        return bad("user '" + user_name + "' authenticates with an exec or auth-provider plugin, which tidal does not run; "
                   "use a token (e.g. a ServiceAccount token) or a client certificate");
      }
    }
    while (!a.endpoint.bearer_token.empty() && std::isspace(static_cast<unsigned char>(a.endpoint.bearer_token.back()))) {
      a.endpoint.bearer_token.pop_back();
    }
    return a;
  } catch (const YAML::Exception& e) {
    return bad(e.what());
  }
}

Result<KubeAccess> kube_access(const std::string& kubeconfig) {
  std::string path = kubeconfig;
  if (path.empty()) {
    if (const char* env = std::getenv("KUBECONFIG"); env && *env) path = std::string(env).substr(0, std::string(env).find(':'));
  }
  if (!path.empty()) {
    auto text = read_file(path);
    if (!text) return make_error(ErrorKind::kInvalidRequest, "cannot read kubeconfig " + path, "kubeconfig");
    return parse_kubeconfig(*text, std::filesystem::path(path).parent_path().string(), "kubeconfig " + path);
  }
  const char* host = std::getenv("KUBERNETES_SERVICE_HOST");
  const char* port = std::getenv("KUBERNETES_SERVICE_PORT");
  if (!host || !port) {
    return make_error(ErrorKind::kInvalidRequest,
                      "no kubeconfig (scaling.kubernetes.kubeconfig or $KUBECONFIG) and not running in a pod "
                      "(KUBERNETES_SERVICE_HOST unset)",
                      "kubeconfig");
  }
  const std::string dir = "/var/run/secrets/kubernetes.io/serviceaccount";
  KubeAccess a;
  a.origin = "in-cluster service account";
  const std::string h = host;
  a.endpoint.server = "https://" + (h.find(':') != std::string::npos ? "[" + h + "]" : h) + ":" + port;
  auto token = read_file(dir + "/token");
  if (!token) return make_error(ErrorKind::kInvalidRequest, "cannot read " + dir + "/token", "kubeconfig");
  a.endpoint.bearer_token = *token;
  while (!a.endpoint.bearer_token.empty() && std::isspace(static_cast<unsigned char>(a.endpoint.bearer_token.back()))) {
    a.endpoint.bearer_token.pop_back();
  }
  if (auto ca = read_file(dir + "/ca.crt")) a.endpoint.ca_pem = *ca;
  if (auto ns = read_file(dir + "/namespace"); ns && !ns->empty()) a.ns = *ns;
  return a;
}

}  // namespace tidal::scaling
