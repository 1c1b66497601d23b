#include "scaling/config.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>

#include "common/config/yaml_reader.h"

namespace tidal::scaling {
namespace {

using config::as;
using config::check_keys;
using config::join_key;
using config::KeyError;
using config::read;

constexpr std::string_view kPoolMetrics[] = {"queue_depth",       "concurrency", "requests_per_second",
                                             "tokens_per_second", "ttft_p95",    "e2e_p95"};
constexpr std::string_view kReplicaMetrics[] = {"cpu", "memory", "kv_usage", "engine_waiting", "in_flight", "slot_usage"};

// A Kubernetes quantity: "30", "0.7", "500m", "2k", "1Gi".
double quantity(const YAML::Node& n, const std::string& key) {
  const auto text = as<std::string>(n, key);
  char* end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  if (end == text.c_str()) throw KeyError(key, "is not a quantity: '" + text + "'");
  const std::string suffix(end);
  static const std::pair<const char*, double> kSuffixes[] = {
      {"", 1},       {"m", 1e-3},          {"k", 1e3},           {"M", 1e6},           {"G", 1e9},
      {"T", 1e12},   {"Ki", 1024.0},       {"Mi", 1048576.0},    {"Gi", 1073741824.0}, {"Ti", 1099511627776.0}};
  for (const auto& [s, f] : kSuffixes) {
    if (suffix == s) return v * f;
  }
  throw KeyError(key, "has an unknown quantity suffix '" + suffix + "'");
}

MetricSpec read_metric(const YAML::Node& n, const std::string& where, const std::map<std::string, std::string>& promql) {
  check_keys(n, where, {"type", "resource", "pods", "object", "external"});
  MetricSpec m;
  const auto type = as<std::string>(n["type"], join_key(where, "type"));
  YAML::Node body, target;
  std::string body_key;
  if (type == "Resource") {
    m.source = MetricSource::kResource;
    body_key = "resource";
    body = n["resource"];
    if (!body) throw KeyError(join_key(where, "resource"), "is required for type Resource");
    check_keys(body, join_key(where, body_key), {"name", "target"});
    m.name = as<std::string>(body["name"], join_key(where, "resource.name"));
  } else if (type == "Pods" || type == "Object" || type == "External") {
    m.source = type == "Pods" ? MetricSource::kPods : type == "Object" ? MetricSource::kObject : MetricSource::kExternal;
    body_key = type == "Pods" ? "pods" : type == "Object" ? "object" : "external";
    body = n[body_key];
    if (!body) throw KeyError(join_key(where, body_key), "is required for type " + type);
    check_keys(body, join_key(where, body_key), {"metric", "target", "describedObject"});
    const auto metric = body["metric"];
    if (!metric) throw KeyError(join_key(where, body_key + ".metric"), "is required");
    check_keys(metric, join_key(where, body_key + ".metric"), {"name", "selector"});
    m.name = as<std::string>(metric["name"], join_key(where, body_key + ".metric.name"));
  } else {
    throw KeyError(join_key(where, "type"), "must be Resource, Pods, Object or External");
  }
  const std::string tw = join_key(where, body_key + ".target");
  target = body["target"];
  if (!target) throw KeyError(tw, "is required");
  check_keys(target, tw, {"type", "averageUtilization", "averageValue", "value"});
  const auto ttype = as<std::string>(target["type"], join_key(tw, "type"));
  auto need = [&](const char* key) {
    if (!target[key]) throw KeyError(join_key(tw, key), "is required for target type " + ttype);
    return quantity(target[key], join_key(tw, key));
  };
  if (ttype == "Utilization") {
    m.target = TargetType::kUtilization;
    m.value = need("averageUtilization");
  } else if (ttype == "AverageValue") {
    m.target = TargetType::kAverageValue;
    m.value = need("averageValue");
  } else if (ttype == "Value") {
    m.target = TargetType::kValue;
    m.value = need("value");
  } else {
    throw KeyError(join_key(tw, "type"), "must be Utilization, AverageValue or Value");
  }
  if (!(m.value > 0)) throw KeyError(tw, "must be > 0");
  const bool per_replica = m.source == MetricSource::kResource || m.source == MetricSource::kPods;
  if (per_replica && !is_replica_metric(m.name)) {
    throw KeyError(join_key(where, body_key + (m.source == MetricSource::kResource ? ".name" : ".metric.name")),
                   "'" + m.name + "' is not a per-replica metric (cpu, memory, kv_usage, engine_waiting, in_flight, slot_usage)");
  }
  if (!per_replica && !is_pool_metric(m.name) && !promql.count(m.name)) {
    throw KeyError(join_key(where, body_key + ".metric.name"),
                   "'" + m.name +
                       "' is not a pool metric (queue_depth, concurrency, requests_per_second, tokens_per_second, "
                       "ttft_p95, e2e_p95) nor a prometheus.queries name");
  }
  if (m.source == MetricSource::kResource && m.name != "cpu" && m.name != "memory") {
    throw KeyError(join_key(where, "resource.name"), "must be cpu or memory");
  }
  if (m.target == TargetType::kUtilization && m.source != MetricSource::kResource) {
    throw KeyError(join_key(tw, "type"), "Utilization is for Resource metrics");
  }
  if (m.target == TargetType::kValue && per_replica) {
    throw KeyError(join_key(tw, "type"), "Value is for Object and External metrics");
  }
  return m;
}

void read_rules(const YAML::Node& n, const std::string& where, ScalingRules& r) {
  check_keys(n, where, {"stabilizationWindowSeconds", "selectPolicy", "policies"});
  if (auto s = n["stabilizationWindowSeconds"]) {
    r.stabilization_window_s = as<double>(s, join_key(where, "stabilizationWindowSeconds"));
    if (*r.stabilization_window_s < 0 || *r.stabilization_window_s > 3600) {
      throw KeyError(join_key(where, "stabilizationWindowSeconds"), "must be in [0, 3600]");
    }
  }
  if (auto s = n["selectPolicy"]) {
    const auto v = as<std::string>(s, join_key(where, "selectPolicy"));
    if (v == "Max") r.select = ScalingRules::Select::kMax;
    else if (v == "Min") r.select = ScalingRules::Select::kMin;
    else if (v == "Disabled") r.select = ScalingRules::Select::kDisabled;
    else throw KeyError(join_key(where, "selectPolicy"), "must be Max, Min or Disabled");
  }
  if (auto ps = n["policies"]) {
    if (!ps.IsSequence()) throw KeyError(join_key(where, "policies"), "must be a list");
    r.policies.clear();
    for (size_t i = 0; i < ps.size(); ++i) {
      const std::string pw = join_key(where, "policies[" + std::to_string(i) + "]");
      check_keys(ps[i], pw, {"type", "value", "periodSeconds"});
      ScalingRules::RatePolicy p;
      const auto type = as<std::string>(ps[i]["type"], join_key(pw, "type"));
      if (type != "Pods" && type != "Percent") throw KeyError(join_key(pw, "type"), "must be Pods or Percent");
      p.percent = type == "Percent";
      p.value = as<int>(ps[i]["value"], join_key(pw, "value"));
      p.period_s = as<double>(ps[i]["periodSeconds"], join_key(pw, "periodSeconds"));
      if (p.value <= 0) throw KeyError(join_key(pw, "value"), "must be > 0");
      if (p.period_s <= 0 || p.period_s > 1800) throw KeyError(join_key(pw, "periodSeconds"), "must be in (0, 1800]");
      r.policies.push_back(p);
    }
  }
}

}  // namespace

bool is_simulator_policy(std::string_view name) {
  return name == "static_peak" || name == "static_mean" || name == "oracle";
}

bool is_pool_metric(std::string_view name) {
  return std::find(std::begin(kPoolMetrics), std::end(kPoolMetrics), name) != std::end(kPoolMetrics);
}
bool is_replica_metric(std::string_view name) {
  return std::find(std::begin(kReplicaMetrics), std::end(kReplicaMetrics), name) != std::end(kReplicaMetrics);
}

bool ScalingConfig::has(std::string_view policy) const {
  return std::find(policies.begin(), policies.end(), policy) != policies.end();
}

ScalingConfig recommended_config() {
  ScalingConfig c;
  c.policies = {"hpa"};
  c.min_replicas = 1;
  c.max_replicas = 8;
  c.interval_s = 1;
  c.metrics = {{MetricSource::kExternal, "concurrency", TargetType::kAverageValue, 24},
               {MetricSource::kObject, "ttft_p95", TargetType::kValue, 1500}};
  c.behavior.scale_up = {0.0, ScalingRules::Select::kMax, {{true, 100, 5}, {false, 4, 5}}};
  c.behavior.scale_down = {60.0, ScalingRules::Select::kMax, {{true, 50, 30}}};
  return c;
}

void read_scaling(const YAML::Node& n, const std::string& where, ScalingConfig& c) {
  check_keys(n, where,
             {"policy", "minReplicas", "maxReplicas", "replicas", "interval_s", "tolerance", "window_s", "metrics",
              "behavior", "kpa", "queue_high", "ttft_high_ms", "utilization_low", "cooldown_s", "drain_timeout_s",
              "ready_timeout_s", "actuator", "scale_to_zero_after_s", "predictive", "concurrency_window_s", "slo", "schedule", "kubernetes", "prometheus"});
  if (auto p = n["policy"]) c.policies = config::strings(p, join_key(where, "policy"));
  read(n, where, "minReplicas", c.min_replicas);
  read(n, where, "maxReplicas", c.max_replicas);
  read(n, where, "replicas", c.replicas);
  read(n, where, "interval_s", c.interval_s);
  read(n, where, "tolerance", c.tolerance);
  read(n, where, "window_s", c.window_s);
  read(n, where, "concurrency_window_s", c.concurrency_window_s);
  read(n, where, "queue_high", c.threshold.queue_high);
  read(n, where, "ttft_high_ms", c.threshold.ttft_high_ms);
  read(n, where, "utilization_low", c.threshold.utilization_low);
  read(n, where, "cooldown_s", c.threshold.cooldown_s);
  read(n, where, "drain_timeout_s", c.drain_timeout_s);
  read(n, where, "ready_timeout_s", c.ready_timeout_s);
  read(n, where, "actuator", c.actuator);
  read(n, where, "scale_to_zero_after_s", c.scale_to_zero_after_s);
  if (auto p = n["prometheus"]) {  // before metrics: its query names are metric names
    const std::string pw = join_key(where, "prometheus");
    check_keys(p, pw, {"url", "queries", "timeout_s"});
    read(p, pw, "url", c.prometheus.url);
    read(p, pw, "timeout_s", c.prometheus.timeout_s);
    if (auto q = p["queries"]) {
      if (!q.IsMap()) throw KeyError(join_key(pw, "queries"), "must map metric names to PromQL queries");
      c.prometheus.queries.clear();
      for (const auto& kv : q) {
        const auto name = kv.first.as<std::string>();
        c.prometheus.queries[name] = as<std::string>(kv.second, join_key(pw, "queries." + name));
      }
    }
  }
  if (auto ms = n["metrics"]) {
    if (!ms.IsSequence()) throw KeyError(join_key(where, "metrics"), "must be a list");
    c.metrics.clear();
    for (size_t i = 0; i < ms.size(); ++i) {
      c.metrics.push_back(read_metric(ms[i], join_key(where, "metrics[" + std::to_string(i) + "]"), c.prometheus.queries));
    }
  }
  if (auto b = n["behavior"]) {
    const std::string bw = join_key(where, "behavior");
    check_keys(b, bw, {"scaleUp", "scaleDown"});
    if (auto up = b["scaleUp"]) read_rules(up, join_key(bw, "scaleUp"), c.behavior.scale_up);
    if (auto down = b["scaleDown"]) read_rules(down, join_key(bw, "scaleDown"), c.behavior.scale_down);
  }
  read_policy_sections(n, where, c);
}

Result<bool> validate(const ScalingConfig& c, const std::string& where) {
  auto bad = [&](const std::string& key, const std::string& why) -> Result<bool> {
    return make_error(ErrorKind::kInvalidRequest, why, join_key(where, key));
  };
  if (c.policies.empty()) return bad("policy", "names no policy");
  for (const auto& p : c.policies) {
    const auto& known = known_policies();
    if (std::find(known.begin(), known.end(), p) == known.end() && !is_simulator_policy(p)) {
      return bad("policy", "unknown policy '" + p + "' (known: " + known_policy_list() +
                               "; tidal simulate adds static_peak, static_mean, oracle)");
    }
  }
  if (c.min_replicas < 0) return bad("minReplicas", "must be >= 0");
  if (c.max_replicas < std::max(1, c.min_replicas)) return bad("maxReplicas", "must be >= max(1, minReplicas)");
  if (c.replicas < 0) return bad("replicas", "must be >= 0");
  if (!(c.interval_s > 0)) return bad("interval_s", "must be > 0");
  if (c.tolerance < 0 || c.tolerance >= 1) return bad("tolerance", "must be in [0, 1)");
  if (!(c.window_s > 0)) return bad("window_s", "must be > 0");
  if (!(c.concurrency_window_s > 0)) return bad("concurrency_window_s", "must be > 0");
  if (c.threshold.cooldown_s < 0) return bad("cooldown_s", "must be >= 0");
  if (!(c.drain_timeout_s >= 0)) return bad("drain_timeout_s", "must be >= 0");
  if (!(c.ready_timeout_s > 0)) return bad("ready_timeout_s", "must be > 0");
  if (c.actuator != "local" && c.actuator != "dry-run" && c.actuator != "kubernetes") {
    return bad("actuator", "must be local, kubernetes or dry-run");
  }
  if (!c.prometheus.queries.empty()) {
    if (!c.prometheus.url.starts_with("http://") && !c.prometheus.url.starts_with("https://")) {
      return bad("prometheus.url", "must be the Prometheus server's http(s):// address (it has queries)");
    }
    if (!(c.prometheus.timeout_s > 0)) return bad("prometheus.timeout_s", "must be > 0");
    for (const auto& [name, q] : c.prometheus.queries) {
      if (is_pool_metric(name) || is_replica_metric(name)) return bad("prometheus.queries." + name, "shadows a built-in metric");
      if (q.empty()) return bad("prometheus.queries." + name, "is empty");
    }
  }
  if (c.actuator == "kubernetes") {
    if (c.kubernetes.deployment.empty()) return bad("kubernetes.deployment", "names no Deployment (the kubernetes actuator scales it)");
    if (c.kubernetes.service.empty()) return bad("kubernetes.service", "names no Service (its EndpointSlices list the replicas)");
    if (!(c.kubernetes.sync_interval_s > 0)) return bad("kubernetes.sync_interval_s", "must be > 0");
  }
  if (!(c.scale_to_zero_after_s >= 0)) return bad("scale_to_zero_after_s", "must be >= 0");
  if (c.has("hpa") && c.metrics.empty()) return bad("metrics", "the hpa policy needs at least one metric");
  return validate_policy_sections(c, where);
}

}  // namespace tidal::scaling
