// How to reach the Kubernetes API server: a kubeconfig file (its current context:
// server, certificate authority, bearer token or client certificate, namespace) or,
// inside a pod, the service account Kubernetes mounts (KUBERNETES_SERVICE_HOST/PORT,
// /var/run/secrets/kubernetes.io/serviceaccount/{token,ca.crt,namespace}).
#pragma once

#include <string>

#include "common/error.h"
#include "http/api_client.h"

namespace tidal::scaling {

struct KubeAccess {
  http::ApiEndpoint endpoint;
  std::string ns = "default";  // the context's (or the pod's) namespace
  std::string origin;          // "kubeconfig PATH (context NAME)" or "in-cluster service account"
};

// `kubeconfig` empty: $KUBECONFIG, else the in-cluster service account. Errors name the
// file and the missing or bad field.
[[nodiscard]] Result<KubeAccess> kube_access(const std::string& kubeconfig);
// Same, from kubeconfig YAML text; relative file paths resolve against `dir`.
[[nodiscard]] Result<KubeAccess> parse_kubeconfig(const std::string& yaml, const std::string& dir, const std::string& origin);

}  // namespace tidal::scaling
