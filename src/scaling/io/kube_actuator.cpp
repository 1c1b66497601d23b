#include "scaling/io/kube_actuator.h"

#include <boost/json.hpp>

#include "common/log.h"
#include "scaling/io/kube_access.h"

namespace tidal::scaling {
namespace {

namespace json = boost::json;

}  // namespace

std::string KubeActuator::scale_path() const {
  return "/apis/apps/v1/namespaces/" + ns_ + "/deployments/" + c_.deployment + "/scale";
}

Result<std::unique_ptr<FleetActuator>> KubeActuator::create(const KubernetesConfig& c, PoolHooks& hooks) {
  auto access = kube_access(c.kubeconfig);
  if (!access) return access.error();
  auto api = http::ApiClient::create(access->endpoint);
  if (!api) return api.error();
  const std::string ns = c.ns.empty() ? access->ns : c.ns;
  auto res = api->request("GET", "/apis/apps/v1/namespaces/" + ns + "/deployments/" + c.deployment + "/scale");
  if (!res) return res.error();
  if (res->status != 200) {
    return make_error(ErrorKind::kUpstream, "GET scale of deployment " + ns + "/" + c.deployment + " via " +
                                                access->origin + ": HTTP " + std::to_string(res->status) + ": " +
                                                res->body.substr(0, 300));
  }
  json::error_code ec;
  const json::value doc = json::parse(res->body, ec);
  const json::value* replicas = ec ? nullptr : doc.find_pointer("/spec/replicas", ec);
  const int n = replicas && replicas->is_int64() ? static_cast<int>(replicas->as_int64()) : 0;
  logger("scaling")->info("kubernetes actuator deployment={}/{} service={} replicas={} api={} ({})", ns, c.deployment,
                          c.service, n, access->endpoint.server, access->origin);
  return std::unique_ptr<FleetActuator>(new KubeActuator(std::move(*api), c, ns, hooks, n));
}

Result<bool> KubeActuator::set_replicas(int n) {
  const std::string body = "{\"spec\":{\"replicas\":" + std::to_string(n) + "}}";
  auto res = api_.request("PATCH", scale_path(), body, "application/merge-patch+json");
  if (!res) return res.error();
  if (res->status != 200) {
    return make_error(ErrorKind::kUpstream, "PATCH " + scale_path() + ": HTTP " + std::to_string(res->status) + ": " +
                                                res->body.substr(0, 300));
  }
  replicas_ = n;
  return true;
}

Result<uint32_t> KubeActuator::start() {
  if (auto ok = set_replicas(replicas_ + 1); !ok) return ok.error();
  const uint32_t id = next_placeholder_++;
  placeholders_.push_back(id);
  return id;
}

void KubeActuator::drain(uint32_t id) {
  if (names_.count(id)) hooks_.drain(id);
}

void KubeActuator::stop(uint32_t id) {
  auto log = logger("scaling");
  if (auto it = std::find(placeholders_.begin(), placeholders_.end(), id); it != placeholders_.end()) {
    placeholders_.erase(it);
  } else if (auto n = names_.find(id); n != names_.end()) {
    const std::string pod = n->second;
    const std::string body = "{\"metadata\":{\"annotations\":{\"controller.kubernetes.io/pod-deletion-cost\":\"" +
                             std::to_string(kVictimDeletionCost) + "\"}}}";
    const std::string path = "/api/v1/namespaces/" + ns_ + "/pods/" + pod;
    auto res = api_.request("PATCH", path, body, "application/merge-patch+json");
    if (!res || res->status != 200) {
      // The ReplicaSet may then delete another pod than the drained one: logged, not fatal.
      log->warn("kubernetes: could not mark pod {} for deletion: {}", pod,
                res ? "HTTP " + std::to_string(res->status) : res.error().message);
    }
    hooks_.retire(id, "scaled down");
    leaving_.insert(pod);
    pods_.erase(pod);
    names_.erase(n);
  } else {
    return;
  }
  if (auto ok = set_replicas(std::max(0, replicas_ - 1)); !ok) log->warn("kubernetes: {}", ok.error().message);
}

void KubeActuator::sync(ControlLoop& loop, double now_s) {
  if (now_s - last_sync_s_ < c_.sync_interval_s) return;
  last_sync_s_ = now_s;
  auto log = logger("scaling");
  auto slices = endpoints_.current();
  if (!slices) {
    log->warn("kubernetes: {}", slices.error().message);
    return;  // keep the last known fleet; stale is better than empty
  }
  // Gone or terminating pods leave the gateway.
  for (auto it = pods_.begin(); it != pods_.end();) {
    auto ep = slices->find(it->first);
    if (ep != slices->end() && !ep->second.terminating) {
      ++it;
      continue;
    }
    log->warn("kubernetes: pod {} left the service unasked; the Deployment replaces it", it->first);
    hooks_.retire(it->second.id, "pod gone");
    loop.on_gone(it->second.id, now_s);
    names_.erase(it->second.id);
    const uint32_t ph = next_placeholder_++;  // its replacement is on the way
    placeholders_.push_back(ph);
    loop.adopt(ph, now_s, Phase::kStarting);
    it = pods_.erase(it);
  }
  for (auto it = leaving_.begin(); it != leaving_.end();) it = slices->count(*it) ? std::next(it) : leaving_.erase(it);
  // New pods join (as starting: the gateway's health checks make them ready).
  for (const auto& [name, ep] : *slices) {
    if (ep.terminating || pods_.count(name) || leaving_.count(name)) continue;
    auto id = hooks_.add(ep.url);
    if (!id) {
      log->warn("kubernetes: cannot register pod {} at {}: {}", name, ep.url, id.error().message);
      continue;
    }
    pods_[name] = Pod{ep.url, *id};
    names_[*id] = name;
    if (!placeholders_.empty()) {  // the pod a start asked for
      loop.on_gone(placeholders_.front(), now_s);
      placeholders_.pop_front();
    }
    loop.adopt(*id, now_s, Phase::kStarting);
    log->info("kubernetes: pod {} joined at {}", name, ep.url);
  }
  if (!synced_once_) {  // replicas the Deployment has but that have no endpoint yet
    synced_once_ = true;
    for (int i = static_cast<int>(pods_.size() + placeholders_.size()); i < replicas_; ++i) {
      const uint32_t ph = next_placeholder_++;
      placeholders_.push_back(ph);
      loop.adopt(ph, now_s, Phase::kStarting);
    }
  }
}

std::string KubeActuator::url_of(uint32_t id) const {
  auto n = names_.find(id);
  if (n == names_.end()) return {};
  auto p = pods_.find(n->second);
  return p == pods_.end() ? std::string() : p->second.url;
}

}  // namespace tidal::scaling
