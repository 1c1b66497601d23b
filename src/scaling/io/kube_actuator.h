// The `kubernetes` actuator: the controller's decisions applied to a Deployment.
//   - grow: spec.replicas + 1 through the Deployment's `scale` subresource (merge
//     patch); the new replica is a placeholder in the ledger (it counts as capacity on
//     the way) until its pod shows up in the Service's EndpointSlices;
//   - shrink: the gateway drains the chosen replica (no new requests, in-flight ones
//     finish), then its pod gets `controller.kubernetes.io/pod-deletion-cost` below
//     every other pod's and spec.replicas - 1, so the ReplicaSet deletes that pod and
//     not another — the cache-aware victim choice survives Kubernetes' own;
//   - discovery: the Service's EndpointSlices, listed once and then watched
//     (EndpointSliceWatch); every sync interval new pods are registered in the
//     gateway, vanished or terminating ones retired; a pod that
//     vanished without tidal asking is replaced by the Deployment itself, so it becomes
//     a placeholder instead of a new scale-up.
// Needs RBAC: get/patch deployments/scale, list and watch endpointslices, patch pods
// (deploy/kubernetes/rbac.yaml).
#pragma once

#include <deque>
#include <map>
#include <set>
#include <string>

#include "http/api_client.h"
#include "scaling/config.h"
#include "scaling/io/controller.h"
#include "scaling/io/endpoint_slices.h"

namespace tidal::scaling {

class KubeActuator final : public FleetActuator {
 public:
  // Reads how to reach the API server and the Deployment's current replicas.
  static Result<std::unique_ptr<FleetActuator>> create(const KubernetesConfig& c, PoolHooks& hooks);

  Result<uint32_t> start() override;
  void drain(uint32_t id) override;
  void stop(uint32_t id) override;
  void sync(ControlLoop& loop, double now_s) override;
  [[nodiscard]] std::string url_of(uint32_t id) const override;

  // Pod deletion cost given to a replica being removed (lower goes first).
  static constexpr int kVictimDeletionCost = -1000;

 private:
  KubeActuator(http::ApiClient api, KubernetesConfig c, std::string ns, PoolHooks& hooks, int replicas)
      : api_(std::move(api)), c_(std::move(c)), ns_(std::move(ns)), hooks_(hooks), replicas_(replicas),
        endpoints_(api_, ns_, c_.service, c_.port) {}
  Result<bool> set_replicas(int n);
  [[nodiscard]] std::string scale_path() const;

  struct Pod {
    std::string url;
    uint32_t id = 0;
  };
  http::ApiClient api_;
  KubernetesConfig c_;
  std::string ns_;
  PoolHooks& hooks_;
  int replicas_;                            // spec.replicas as tidal last set (or read) it
  std::map<std::string, Pod> pods_;         // by pod name, registered in the gateway
  std::map<uint32_t, std::string> names_;   // id -> pod name
  std::set<std::string> leaving_;           // pods tidal removed, until they leave the slices
  std::deque<uint32_t> placeholders_;       // replicas asked for whose pod has not appeared
  uint32_t next_placeholder_ = 0x8000'0000u;
  double last_sync_s_ = -1e18;
  bool synced_once_ = false;
  EndpointSliceWatch endpoints_;  // last: its watcher thread stops first
};

}  // namespace tidal::scaling
