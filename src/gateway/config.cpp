#include "gateway/config.h"

#include "common/config/yaml_reader.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <sstream>

#include "http/url.h"

extern char** environ;

namespace tidal::gateway {
namespace {

using config::check_keys;
using config::read;
using config::strings;
using ConfigError = config::KeyError;

// A duration in whole milliseconds.
void read_ms(const YAML::Node& map, const std::string& where, const char* key, std::chrono::milliseconds& out) {
  uint32_t ms = static_cast<uint32_t>(out.count());
  read(map, where, key, ms);
  out = std::chrono::milliseconds(ms);
}

PoolConfig parse_pool(const YAML::Node& n, const std::string& where, const routing::RoutingConfig& global_routing,
                      const admission::AdmissionConfig& global_admission) {
  check_keys(n, where, {"name", "models", "replicas", "max_in_flight_per_replica", "max_queue", "queue_timeout_s", "local",
                        "scaling", "routing", "admission", "offload", "cost_per_1k_tokens",
                        "upstream_api_key"});
  PoolConfig p;
  if (auto r = n["routing"]) {
    p.routing = global_routing;  // keys not given here keep the top-level value
    routing::read_routing(r, where + ".routing", *p.routing);
  }
  if (auto a = n["admission"]) {
    p.admission = global_admission;
    admission::read_admission(a, where + ".admission", *p.admission);
  }
  read(n, where, "name", p.name);
  if (auto m = n["models"]) p.models = strings(m, where + ".models");
  if (auto r = n["replicas"]) p.replicas = strings(r, where + ".replicas");
  read(n, where, "max_in_flight_per_replica", p.max_in_flight_per_replica);
  read(n, where, "max_queue", p.max_queue);
  read(n, where, "queue_timeout_s", p.queue_timeout_s);
  read(n, where, "cost_per_1k_tokens", p.cost_per_1k_tokens);
  read(n, where, "upstream_api_key", p.upstream_api_key);
  if (auto o = n["offload"]) {
    const std::string ow = where + ".offload";
    check_keys(o, ow, {"to", "queue_wait_s", "cpu_threshold_pct", "memory_threshold_pct"});
    read(o, ow, "to", p.offload.to);
    read(o, ow, "queue_wait_s", p.offload.queue_wait_s);
    read(o, ow, "cpu_threshold_pct", p.offload.cpu_threshold_pct);
    read(o, ow, "memory_threshold_pct", p.offload.memory_threshold_pct);
  }
  if (auto l = n["local"]) {
    const std::string lw = where + ".local";
    check_keys(l, lw, {"count", "command", "args", "ready_timeout_s", "stop_grace_s"});
    read(l, lw, "count", p.local.count);
    if (auto c = l["command"]) p.local.command = strings(c, lw + ".command");
    if (auto a = l["args"]) p.local.args = strings(a, lw + ".args");
    read(l, lw, "ready_timeout_s", p.local.ready_timeout_s);
    read(l, lw, "stop_grace_s", p.local.stop_grace_s);
  }
  if (auto sc = n["scaling"]) {
    p.scaling = scaling::recommended_config();
    scaling::read_scaling(sc, where + ".scaling", *p.scaling);
  }
  return p;
}

// TIDAL_GATEWAY__PORT=9000 sets gateway.port; TIDAL_POOLS__0__MAX_QUEUE sets pools[0].max_queue.
void apply_env(YAML::Node& root, char** env) {
  for (char** e = env; e && *e; ++e) {
    std::string_view kv(*e);
    if (!kv.starts_with("TIDAL_")) continue;
    const size_t eq = kv.find('=');
    if (eq == std::string_view::npos) continue;
    std::string name(kv.substr(6, eq - 6));
    const std::string value(kv.substr(eq + 1));
    std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
    std::vector<std::string> path;
    for (size_t start = 0;;) {
      const size_t sep = name.find("__", start);
      path.push_back(name.substr(start, sep == std::string::npos ? std::string::npos : sep - start));
      if (sep == std::string::npos) break;
      start = sep + 2;
    }
    if (path.size() < 2) continue;  // TIDAL_FOO is not a config key (e.g. TIDAL_LOG)
    std::function<void(YAML::Node, size_t)> set = [&](YAML::Node node, size_t i) {
      const std::string& key = path[i];
      const bool index = !key.empty() && std::all_of(key.begin(), key.end(), ::isdigit);
      if (i + 1 == path.size()) {
        if (index) node[std::stoul(key)] = value; else node[key] = value;
        return;
      }
      if (index) {
        const size_t idx = std::stoul(key);
        if (!node.IsSequence() || idx >= node.size()) throw ConfigError(name, "indexes a list entry that does not exist");
        set(node[idx], i + 1);
      } else {
        set(node[key], i + 1);
      }
    };
    set(root, 0);
  }
}

// The seed's variable names: CPU_THRESHOLD and MEMORY_THRESHOLD (percent) set every
// offloading pool's thresholds.
void apply_threshold_env(GatewayConfig& c, char** env) {
  for (char** e = env; e && *e; ++e) {
    const std::string_view kv(*e);
    for (auto [name, field] : {std::pair{std::string_view("CPU_THRESHOLD="), &OffloadConfig::cpu_threshold_pct},
                               std::pair{std::string_view("MEMORY_THRESHOLD="), &OffloadConfig::memory_threshold_pct}}) {
      if (!kv.starts_with(name)) continue;
      const std::string value(kv.substr(name.size()));
      double v = 0;
      try {
        v = std::stod(value);
      } catch (...) {
        throw ConfigError(std::string(name.substr(0, name.size() - 1)), "must be a number (percent), not '" + value + "'");
      }
      for (auto& p : c.pools) {
        if (!p.offload.to.empty()) p.offload.*field = v;
      }
    }
  }
}

GatewayConfig decode(const YAML::Node& root) {
  GatewayConfig c;
  if (root.IsNull()) return c;
  check_keys(root, "", {"gateway", "routing", "health", "scrape", "pools", "admission", "auth", "rate_limits",
                        "resilience"});
  if (auto g = root["gateway"]) {
    check_keys(g, "gateway", {"host", "port", "threads", "max_body_bytes", "connect_timeout_ms", "request_timeout_s",
                              "upstream_idle_timeout_s", "client_idle_timeout_s", "max_attempts",
                              "stream_keepalive_s", "drain_timeout_s", "client_write_timeout_s", "max_connections",
                              "client_send_buffer_bytes", "disconnect_watch_after_ms"});
    read(g, "gateway", "host", c.host);
    read(g, "gateway", "port", c.port);
    read(g, "gateway", "threads", c.threads);
    read(g, "gateway", "max_body_bytes", c.max_body_bytes);
    read(g, "gateway", "connect_timeout_ms", c.connect_timeout_ms);
    read(g, "gateway", "request_timeout_s", c.request_timeout_s);
    read(g, "gateway", "upstream_idle_timeout_s", c.upstream_idle_timeout_s);
    read(g, "gateway", "client_idle_timeout_s", c.client_idle_timeout_s);
    read(g, "gateway", "max_attempts", c.max_attempts);
    read(g, "gateway", "stream_keepalive_s", c.stream_keepalive_s);
    read(g, "gateway", "drain_timeout_s", c.drain_timeout_s);
    read(g, "gateway", "client_write_timeout_s", c.client_write_timeout_s);
    read(g, "gateway", "max_connections", c.max_connections);
    read(g, "gateway", "disconnect_watch_after_ms", c.disconnect_watch_after_ms);
    read(g, "gateway", "client_send_buffer_bytes", c.client_send_buffer_bytes);
  }
  if (auto r = root["routing"]) routing::read_routing(r, "routing", c.routing);
  if (auto a = root["admission"]) admission::read_admission(a, "admission", c.admission);
  if (auto a = root["auth"]) read_auth(a, "auth", c.auth);
  if (auto r = root["rate_limits"]) read_rate_limits(r, "rate_limits", c.rate_limits);
  if (auto r = root["resilience"]) read_resilience(r, "resilience", c.resilience);
  if (auto m = root["scrape"]) {
    check_keys(m, "scrape", {"interval_ms", "timeout_ms", "path"});
    read_ms(m, "scrape", "interval_ms", c.scrape.interval);
    read_ms(m, "scrape", "timeout_ms", c.scrape.timeout);
    read(m, "scrape", "path", c.scrape.path);
  }
  if (auto h = root["health"]) {
    check_keys(h, "health", {"interval_ms", "timeout_ms", "unhealthy_threshold", "healthy_threshold", "path",
                             "ready_timeout_s"});
    read(h, "health", "ready_timeout_s", c.health.ready_timeout_s);
    read_ms(h, "health", "interval_ms", c.health.interval);
    read_ms(h, "health", "timeout_ms", c.health.timeout);
    read(h, "health", "unhealthy_threshold", c.health.unhealthy_threshold);
    read(h, "health", "healthy_threshold", c.health.healthy_threshold);
    read(h, "health", "path", c.health.path);
  }
  if (auto pools = root["pools"]) {
    if (!pools.IsSequence()) throw ConfigError("pools", "must be a list");
    for (size_t i = 0; i < pools.size(); ++i) c.pools.push_back(parse_pool(pools[i], "pools[" + std::to_string(i) + "]", c.routing, c.admission));
  }
  return c;
}

}  // namespace

Result<GatewayConfig> parse_config(const std::string& yaml, const std::string& origin, char** env) {
  try {
    YAML::Node root = yaml.empty() ? YAML::Node() : YAML::Load(yaml);
    if (root.IsNull()) root = YAML::Node(YAML::NodeType::Map);
    apply_env(root, env ? env : environ);
    GatewayConfig c = decode(root);
    apply_threshold_env(c, env ? env : environ);
    if (auto ok = validate(c); !ok) {
      return make_error(ErrorKind::kInvalidRequest, origin + ": " + ok.error().param + ": " + ok.error().message,
                        ok.error().param);
    }
    return c;
  } catch (const ConfigError& e) {
    return make_error(ErrorKind::kInvalidRequest, origin + ": " + e.key + ": " + e.what(), e.key);
  } catch (const YAML::Exception& e) {
    return make_error(ErrorKind::kInvalidRequest, origin + ": " + e.what());
  }
}

Result<GatewayConfig> load_config(const std::string& path) {
  if (path.empty()) return parse_config("", "defaults");
  std::ifstream in(path);
  if (!in) return make_error(ErrorKind::kInvalidRequest, path + ": cannot open the file");
  std::stringstream ss;
  ss << in.rdbuf();
  return parse_config(ss.str(), path);
}

Result<Upstream> parse_upstream(std::string_view spec) {
  Upstream up;
  size_t pos = 0;
  bool first = true;
  while (pos < spec.size()) {
    const size_t start = spec.find_first_not_of(' ', pos);
    if (start == std::string_view::npos) break;
    const size_t end = std::min(spec.find(' ', start), spec.size());
    const std::string_view word = spec.substr(start, end - start);
    pos = end;
    if (first) {
      auto u = http::parse_url(word);
      if (!u) return u.error();
      up.url = std::string(word);
      first = false;
    } else if (word == "backup") {
      up.options.backup = true;
    } else if (word.starts_with("weight=")) {
      const std::string n(word.substr(7));
      char* stop = nullptr;
      const long w = std::strtol(n.c_str(), &stop, 10);
      if (n.empty() || *stop != '\0' || w < 1 || w > 1000) {
        return make_error(ErrorKind::kInvalidRequest, "weight must be an integer from 1 to 1000, not '" + n + "'");
      }
      up.options.weight = static_cast<uint32_t>(w);
    } else {
      return make_error(ErrorKind::kInvalidRequest,
                        "unknown upstream parameter '" + std::string(word) + "' (known: weight=N, backup)");
    }
  }
  if (first) return make_error(ErrorKind::kInvalidRequest, "empty upstream: expected \"http://host:port [weight=N] [backup]\"");
  return up;
}

Result<bool> validate(const GatewayConfig& c) {
  auto bad = [](std::string key, std::string why) { return make_error(ErrorKind::kInvalidRequest, std::move(why), std::move(key)); };
  if (c.max_attempts < 1) return bad("gateway.max_attempts", "must be >= 1");
  if (!(c.stream_keepalive_s > 0)) return bad("gateway.stream_keepalive_s", "must be > 0");
  if (c.request_timeout_s <= 0) return bad("gateway.request_timeout_s", "must be > 0");
  if (c.upstream_idle_timeout_s <= 0) return bad("gateway.upstream_idle_timeout_s", "must be > 0");
  if (c.client_idle_timeout_s <= 0) return bad("gateway.client_idle_timeout_s", "must be > 0");
  if (c.connect_timeout_ms < 1) return bad("gateway.connect_timeout_ms", "must be >= 1");
  if (c.health.unhealthy_threshold < 1) return bad("health.unhealthy_threshold", "must be >= 1");
  if (c.health.healthy_threshold < 1) return bad("health.healthy_threshold", "must be >= 1");
  if (c.health.ready_timeout_s < 0) return bad("health.ready_timeout_s", "must be >= 0 (0: never)");
  if (c.health.interval.count() < 10) return bad("health.interval_ms", "must be >= 10");
  if (c.scrape.interval.count() != 0 && c.scrape.interval.count() < 10) return bad("scrape.interval_ms", "must be 0 (off) or >= 10");
  if (auto ok = routing::validate(c.routing, "routing"); !ok) return ok.error();
  if (c.drain_timeout_s < 0) return bad("gateway.drain_timeout_s", "must be >= 0");
  if (c.client_write_timeout_s < 0) return bad("gateway.client_write_timeout_s", "must be >= 0 (0: none)");
  if (auto ok = admission::validate(c.admission, "admission"); !ok) return ok.error();
  if (auto ok = validate(c.rate_limits); !ok) return ok.error();
  if (auto ok = validate(c.resilience); !ok) return ok.error();
  std::set<std::string> names;
  for (size_t i = 0; i < c.pools.size(); ++i) {
    const auto& p = c.pools[i];
    const std::string w = "pools[" + std::to_string(i) + "]";
    if (p.name.empty()) return bad(w + ".name", "must not be empty");
    if (!names.insert(p.name).second) return bad(w + ".name", "duplicate pool name '" + p.name + "'");
    if (p.queue_timeout_s < 0) return bad(w + ".queue_timeout_s", "must be >= 0");
    if (p.local.ready_timeout_s <= 0) return bad(w + ".local.ready_timeout_s", "must be > 0");
    if (p.local.stop_grace_s < 0) return bad(w + ".local.stop_grace_s", "must be >= 0");
    if (p.scaling) {
      for (const auto& name : p.scaling->policies) {
        if (scaling::is_simulator_policy(name)) return bad(w + ".scaling.policy", "'" + name + "' exists only in tidal simulate");
      }
      if (p.scaling->has("predictive") && !(p.scaling->predictive.rps_per_replica > 0)) {
        return bad(w + ".scaling.predictive.rps_per_replica", "must be > 0 (the request rate one replica serves)");
      }
      if (auto ok = scaling::validate(*p.scaling, w + ".scaling"); !ok) return bad(ok.error().param, ok.error().message);
      if (p.scaling->actuator == "local" && p.local.count == 0 && !p.replicas.empty()) {
        return bad(w + ".scaling.actuator",
                   "tidal cannot start or stop the static replicas of this pool: use dry-run, or local replicas");
      }
      if (p.scaling->actuator == "dry-run" && p.local.count > 0) {
        return bad(w + ".scaling.actuator", "dry-run is for replicas tidal does not start (pools[].replicas)");
      }
    }
    if (p.routing) {
      if (auto ok = routing::validate(*p.routing, w + ".routing"); !ok) return ok.error();
    }
    if (p.admission) {
      if (auto ok = admission::validate(*p.admission, w + ".admission"); !ok) return ok.error();
    }
    if (!p.offload.to.empty()) {
      const bool known = std::any_of(c.pools.begin(), c.pools.end(), [&](const PoolConfig& q) { return q.name == p.offload.to; });
      if (!known || p.offload.to == p.name) return bad(w + ".offload.to", "must name another pool, not '" + p.offload.to + "'");
      if (p.offload.queue_wait_s < 0) return bad(w + ".offload.queue_wait_s", "must be >= 0");
    }
    if (p.cost_per_1k_tokens < 0) return bad(w + ".cost_per_1k_tokens", "must be >= 0");
    for (size_t j = 0; j < p.replicas.size(); ++j) {
      auto u = parse_upstream(p.replicas[j]);
      if (!u) return bad(w + ".replicas[" + std::to_string(j) + "]", u.error().message);
    }
  }
  // A key's tier must be a tier of some pool (a typo would silently demote it).
  for (size_t i = 0; i < c.auth.keys.size(); ++i) {
    const auto& k = c.auth.keys[i];
    if (k.tier.empty()) continue;
    bool found = false;
    for (const auto& p : c.pools) found = found || pool_admission(c, p).tier_index(k.tier) >= 0;
    if (c.pools.empty()) found = pool_admission(c, PoolConfig{}).tier_index(k.tier) >= 0;
    if (!found) return bad("auth.keys[" + std::to_string(i) + "].tier", "'" + k.tier + "' is not a tier of any pool");
  }
  return true;
}

admission::AdmissionConfig pool_admission(const GatewayConfig& c, const PoolConfig& p) {
  admission::AdmissionConfig a = p.admission.value_or(c.admission);
  if (a.tiers.empty()) {
    const bool fair = a.fair;
    a = admission::single_tier(p.max_queue, p.queue_timeout_s);
    a.fair = fair;
  }
  return a;
}

}  // namespace tidal::gateway
