#include "scaling/io/endpoint_slices.h"

#include <boost/json.hpp>

#include "common/log.h"
#include "http/url.h"

namespace tidal::scaling {
namespace {

namespace json = boost::json;

std::string str(const json::value* v) { return v && v->is_string() ? std::string(v->as_string()) : std::string(); }

// One EndpointSlice: its pods' endpoints on `port`.
PodEndpoints parse_slice(const json::object& so, const std::string& port) {
  PodEndpoints out;
  if (str(so.if_contains("addressType")) == "FQDN") return out;
  int64_t number = -1;
  if (const auto* ports = so.if_contains("ports"); ports && ports->is_array()) {
    for (const auto& p : ports->as_array()) {
      if (!p.is_object()) continue;
      const auto* n = p.as_object().if_contains("port");
      if (!n || !n->is_int64()) continue;
      const std::string name = str(p.as_object().if_contains("name"));
      if (port.empty() || name == port || std::to_string(n->as_int64()) == port) {
        number = n->as_int64();
        break;
      }
    }
  }
  if (number < 0) return out;  // the port is not in this slice
  const bool v6 = str(so.if_contains("addressType")) == "IPv6";
  const auto* eps = so.if_contains("endpoints");
  if (!eps || !eps->is_array()) return out;
  for (const auto& e : eps->as_array()) {
    if (!e.is_object()) continue;
    const auto& eo = e.as_object();
    const auto* addrs = eo.if_contains("addresses");
    if (!addrs || !addrs->is_array() || addrs->as_array().empty()) continue;
    const std::string ip = str(&addrs->as_array()[0]);
    std::string pod = ip;
    if (const auto* ref = eo.if_contains("targetRef"); ref && ref->is_object()) {
      if (auto n = str(ref->as_object().if_contains("name")); !n.empty()) pod = n;
    }
    PodEndpoint ep;
    ep.url = "http://" + (v6 ? "[" + ip + "]" : ip) + ":" + std::to_string(number);
    // Per the API: an unset ready condition means ready; unset terminating means not.
    if (const auto* cond = eo.if_contains("conditions"); cond && cond->is_object()) {
      const auto& co = cond->as_object();
      if (const auto* r = co.if_contains("ready"); r && r->is_bool()) ep.ready = r->as_bool();
      if (const auto* t = co.if_contains("terminating"); t && t->is_bool()) ep.terminating = t->as_bool();
    }
    out[pod] = ep;
  }
  return out;
}

std::string name_of(const json::object& o) {
  const auto* md = o.if_contains("metadata");
  return md && md->is_object() ? str(md->as_object().if_contains("name")) : std::string();
}

std::string version_of(const json::object& o) {
  const auto* md = o.if_contains("metadata");
  return md && md->is_object() ? str(md->as_object().if_contains("resourceVersion")) : std::string();
}

}  // namespace

EndpointSliceWatch::EndpointSliceWatch(const http::ApiClient& api, std::string ns, std::string service, std::string port)
    : api_(api), ns_(std::move(ns)), service_(std::move(service)), port_(std::move(port)) {}

EndpointSliceWatch::~EndpointSliceWatch() {
  stop_ = true;
  cv_.notify_all();
  if (watcher_.joinable()) watcher_.join();
}

std::string EndpointSliceWatch::path() const {
  return "/apis/discovery.k8s.io/v1/namespaces/" + ns_ +
         "/endpointslices?labelSelector=" + http::percent_encode("kubernetes.io/service-name=" + service_);
}

Result<EndpointSliceWatch::Listing> EndpointSliceWatch::parse_list(const std::string& body, const std::string& port) {
  json::error_code ec;
  const json::value doc = json::parse(body, ec);
  if (ec || !doc.is_object() || !doc.as_object().contains("items") || !doc.at("items").is_array()) {
    return make_error(ErrorKind::kUpstream, "EndpointSliceList: unexpected body");
  }
  Listing l;
  l.resource_version = version_of(doc.as_object());
  for (const auto& slice : doc.at("items").as_array()) {
    if (slice.is_object()) l.slices[name_of(slice.as_object())] = parse_slice(slice.as_object(), port);
  }
  return l;
}

Result<PodEndpoints> EndpointSliceWatch::current() {
  bool list = false;
  {
    std::lock_guard lock(mu_);
    list = need_list_;
  }
  if (list) {
    auto res = api_.request("GET", path());
    ++lists_;
    if (!res) return res.error();
    if (res->status != 200) return make_error(ErrorKind::kUpstream, "listing EndpointSlices: HTTP " + std::to_string(res->status));
    auto l = parse_list(res->body, port_);
    if (!l) return l.error();
    {
      std::lock_guard lock(mu_);
      slices_ = std::move(l->slices);
      resource_version_ = l->resource_version;
      need_list_ = false;
    }
    cv_.notify_all();
    if (!watcher_.joinable()) watcher_ = std::thread([this] { run(); });
  }
  PodEndpoints all;
  std::lock_guard lock(mu_);
  for (const auto& [name, pods] : slices_) all.insert(pods.begin(), pods.end());
  return all;
}

bool EndpointSliceWatch::on_event(std::string_view line) {
  json::error_code ec;
  const json::value ev = json::parse(line, ec);
  if (ec || !ev.is_object()) return true;  // not an event: ignore the line
  const std::string type = str(ev.as_object().if_contains("type"));
  const auto* obj = ev.as_object().if_contains("object");
  if (!obj || !obj->is_object()) return true;
  const auto& o = obj->as_object();
  std::lock_guard lock(mu_);
  if (type == "ERROR") {  // a Status; 410 Gone: our resourceVersion is too old
    logger("scaling")->info("kubernetes: watch ended: {}; listing again", str(o.if_contains("message")));
    need_list_ = true;
    return false;
  }
  if (const std::string rv = version_of(o); !rv.empty()) resource_version_ = rv;
  if (type == "ADDED" || type == "MODIFIED") slices_[name_of(o)] = parse_slice(o, port_);
  else if (type == "DELETED") slices_.erase(name_of(o));
  return true;  // BOOKMARK: only the resourceVersion
}

void EndpointSliceWatch::run() {
  while (!stop_) {
    std::string rv;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [this] { return stop_ || !need_list_; });
      if (stop_) break;
      rv = resource_version_;
    }
    auto res = api_.watch(path() + "&watch=1&allowWatchBookmarks=true&timeoutSeconds=300&resourceVersion=" +
                              http::percent_encode(rv),
                          [this](std::string_view line) { return on_event(line); }, stop_);
    if (stop_) break;
    if (!res || *res != 200) {
      logger("scaling")->warn("kubernetes: watching EndpointSlices failed: {}; listing again",
                              res ? "HTTP " + std::to_string(*res) : res.error().message);
      std::unique_lock lock(mu_);
      need_list_ = true;
      cv_.wait_for(lock, std::chrono::seconds(1), [this] { return stop_.load(); });  // no hot loop on a down API
    }
    // A watch the server ended (timeoutSeconds) resumes from the last resourceVersion.
  }
}

}  // namespace tidal::scaling
