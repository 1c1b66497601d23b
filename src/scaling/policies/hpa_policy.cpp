#include "scaling/policies/hpa_policy.h"

#include <algorithm>
#include <cmath>
#include <fmt/format.h>

namespace tidal::scaling {
namespace {

// calcPlainMetricReplicas: per-replica samples against a per-replica target.
std::optional<int> plain_replicas(const MetricSpec& m, const Signals& s, double tolerance) {
  const int current = s.current();
  std::vector<double> values;  // ready replicas with a sample
  int unready = 0, missing = 0;
  for (const auto& r : s.replicas) {
    if (!r.ready) {
      ++unready;
      continue;
    }
    if (auto v = replica_metric(m.name, r)) values.push_back(*v); else ++missing;
  }
  if (values.empty()) return std::nullopt;
  const double target = m.value;
  auto ratio_of = [&](const std::vector<double>& vs) {
    double sum = 0;
    for (double v : vs) sum += v;
    return sum / static_cast<double>(vs.size()) / target;
  };
  const int ready_count = static_cast<int>(values.size());
  const double ratio = ratio_of(values);
  const bool scale_up_with_unready = unready > 0 && ratio > 1.0;
  if (!scale_up_with_unready && missing == 0) {
    if (std::abs(1.0 - ratio) <= tolerance) return current;
    return static_cast<int>(std::ceil(ratio * ready_count));
  }
  // Missing replicas count as at the target when shrinking (a CPU/memory utilization
  // target: at max(100%, target)) and as idle when growing; unready ones as idle when
  // growing. Then the direction must not flip. (Upstream leaves missing Resource
  // replicas out at a ratio of exactly 1; Pods metrics count them as idle.)
  const bool resource = m.source == MetricSource::kResource;
  const double fallback = resource && m.target == TargetType::kUtilization ? std::max(100.0, target) : target;
  if (ratio < 1.0) {
    values.insert(values.end(), static_cast<size_t>(missing), fallback);
  } else if (ratio > 1.0 || !resource) {
    values.insert(values.end(), static_cast<size_t>(missing), 0.0);
  }
  if (scale_up_with_unready) {
    for (int i = 0; i < unready; ++i) values.push_back(0.0);
  }
  const double new_ratio = ratio_of(values);
  if (std::abs(1.0 - new_ratio) <= tolerance || (ratio < 1.0 && new_ratio > 1.0) || (ratio > 1.0 && new_ratio < 1.0)) {
    return current;
  }
  const int proposed = static_cast<int>(std::ceil(new_ratio * static_cast<double>(values.size())));
  if ((new_ratio < 1.0 && proposed > current) || (new_ratio > 1.0 && proposed < current)) return current;
  return proposed;
}

}  // namespace

std::optional<double> pool_metric(std::string_view name, const Signals& s) {
  if (name == "queue_depth") return s.queue_depth;
  if (name == "concurrency") return s.concurrency_avg >= 0 ? s.concurrency_avg : s.in_flight + s.queue_depth;
  if (name == "requests_per_second") return s.rps;
  if (name == "tokens_per_second") return s.prompt_tokens_per_s + s.output_tokens_per_s;
  // A latency with no sample in the window: zero when the pool is idle (nothing to be
  // slow), missing when requests are waiting or running (no evidence either way).
  const bool idle = s.in_flight + s.queue_depth == 0;
  if (name == "ttft_p95") return s.ttft_p95_ms > 0 || idle ? std::optional<double>(s.ttft_p95_ms) : std::nullopt;
  if (name == "e2e_p95") return s.e2e_p95_ms > 0 || idle ? std::optional<double>(s.e2e_p95_ms) : std::nullopt;
  if (auto it = s.external.find(std::string(name)); it != s.external.end()) return it->second;  // PromQL
  return std::nullopt;
}

std::optional<double> replica_metric(std::string_view name, const ReplicaSample& r) {
  if (name == "cpu") return r.cpu_pct;
  if (name == "memory") return r.memory_bytes;
  if (name == "kv_usage") return r.kv_usage;
  if (name == "engine_waiting") return r.engine_waiting;
  if (name == "slot_usage") return r.slot_usage;
  if (name == "in_flight") return r.in_flight;
  return std::nullopt;
}

std::optional<int> hpa_replicas_for_metric(const MetricSpec& m, const Signals& s, double tolerance) {
  const int current = s.current();
  if (m.source == MetricSource::kResource || m.source == MetricSource::kPods) return plain_replicas(m, s, tolerance);
  const auto usage = pool_metric(m.name, s);
  if (!usage) return std::nullopt;
  if (m.target == TargetType::kAverageValue) {
    // GetExternalPerPodMetricReplicas / GetObjectPerPodMetricReplicas.
    const double ratio = *usage / (m.value * current);
    if (current > 0 && std::abs(1.0 - ratio) <= tolerance) return current;
    return static_cast<int>(std::ceil(*usage / m.value));
  }
  // Value: getUsageRatioReplicaCount.
  const double ratio = *usage / m.value;
  if (current == 0) return static_cast<int>(std::ceil(ratio));
  if (std::abs(1.0 - ratio) <= tolerance) return current;
  return static_cast<int>(std::ceil(ratio * s.ready));
}

Recommendation HpaPolicy::recommend(const Signals& s) {
  const int current = s.current();
  int best = 0;
  const MetricSpec* driver = nullptr;
  std::string missing;
  for (const auto& m : metrics_) {
    auto n = hpa_replicas_for_metric(m, s, tolerance_);
    if (!n) {
      missing += missing.empty() ? m.name : ", " + m.name;
      continue;
    }
    if (!driver || *n > best) {
      best = *n;
      driver = &m;
    }
  }
  if (!driver) return {current, "no metric has a value (" + missing + "): holding", true};
  std::string reason = fmt::format("{} -> {}", driver->name, best);
  if (!missing.empty()) {
    if (best < current) return {current, reason + "; missing " + missing + ": no scale-down", true};
    reason += "; missing " + missing;
  }
  return {best, reason, !missing.empty()};
}

}  // namespace tidal::scaling
