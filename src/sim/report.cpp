#include "sim/report.h"

#include <boost/json.hpp>
#include <fmt/format.h>

namespace tidal::sim {
namespace {

namespace json = boost::json;

json::object pct(const stats::Percentiles& p) {
  return {{"p50", p.p50}, {"p95", p.p95}, {"p99", p.p99}, {"mean", p.mean}, {"max", p.max}};
}

json::value maybe(double v) { return v < 0 ? json::value(nullptr) : json::value(v); }

json::object object_of(const SimResult& r) {
  json::object errs;
  for (const auto& [k, v] : r.errors_by_kind) errs[k] = v;
  json::array events;
  for (const auto& e : r.scaling_events) {
    events.push_back(json::object{{"t_s", e.t_s}, {"from", e.from}, {"to", e.to}, {"reason", e.reason}});
  }
  json::array series;
  for (const auto& p : r.series) {
    series.push_back(json::object{{"t_s", p.t_s},
                                  {"arrivals_rps", p.arrivals_rps},
                                  {"ready", p.ready},
                                  {"starting", p.starting},
                                  {"draining", p.draining},
                                  {"queue_depth", p.queue_depth},
                                  {"ttft_p95_ms", p.ttft_p95_ms},
                                  {"cost_usd", p.cost_usd}});
  }
  const double total = static_cast<double>(r.valid());
  json::object invalid;
  for (const auto& [k, v] : r.invalid_by_kind) invalid[k] = v;
  json::object o{
      {"policy", r.policy},
      {"workload", r.workload},
      {"seed", r.seed},
      {"duration_s", r.duration_s},
      {"requests", r.requests},
      {"completed", r.completed},
      {"failed", r.failed},
      {"availability", total > 0 ? static_cast<double>(r.completed) / total : 0.0},
      {"error_rate", total > 0 ? static_cast<double>(r.failed) / total : 0.0},
      {"errors_by_kind", std::move(errs)},
      {"invalid", r.invalid},
      {"invalid_by_kind", std::move(invalid)},
      {"ttft_ms", pct(r.ttft_ms)},
      {"e2e_ms", pct(r.e2e_ms)},
      {"slo", json::object{{"ttft_ms", r.slo_ttft_ms}, {"e2e_ms", r.slo_e2e_ms}, {"tpot_ms", r.slo_tpot_ms}}},
      {"slo_attainment", total > 0 ? static_cast<double>(r.slo_met) / total : 0.0},
      {"cost_usd", r.cost_usd},
      {"instance_hours", r.instance_hours},
      {"gpu_hours", r.gpu_hours},
      {"overprovisioning_pct", r.overprovisioning_pct},
      {"scale_up_latency_s", maybe(r.scale_up_latency_s)},
      {"scale_down_latency_s", maybe(r.scale_down_latency_s)},
      {"scaling_events", r.scaling_events.size()},
      {"reversals_per_hour", r.reversals_per_hour},
      {"scaling_event_log", std::move(events)},
      {"max_replicas", r.max_replicas},
      {"mean_replicas", r.mean_replicas},
      {"capacity_rps_per_replica", r.capacity_rps_per_replica},
      {"sim_events", r.events},
      {"spot_preemptions", r.spot_preemptions},
      {"retried_requests", r.retried_requests},
      {"prefix_cache_hit_pct", r.prompt_tokens_served ? 100.0 * r.prefix_cached_tokens / r.prompt_tokens_served : 0.0},
      {"prefix_predicted_hit_pct", r.prompt_tokens_served ? 100.0 * r.prefix_predicted_tokens / r.prompt_tokens_served : 0.0},
      {"series", std::move(series)},
  };
  if (!r.classes.empty()) {
    // Per traffic class (when several); requests include invalid ones.
    json::object classes;
    for (const auto& [name, t] : r.classes) {
      json::object e;
      for (const auto& [k, v] : t.errors_by_kind) e[k] = v;
      const double n = static_cast<double>(t.requests);
      classes[name] = json::object{{"requests", t.requests},
                                 {"completed", t.completed},
                                 {"failed", t.failed},
                                 {"errors_by_kind", std::move(e)},
                                 {"availability", n > 0 ? static_cast<double>(t.completed) / n : 0.0},
                                 {"slo_attainment", n > 0 ? static_cast<double>(t.slo_met) / n : 0.0},
                                 {"ttft_ms", pct(t.ttft_ms)}};
    }
    o["classes"] = std::move(classes);
    o["jain_index"] = r.jain_index;
  }
  return o;
}

}  // namespace

double reversals_per_hour(const std::vector<ScaleEvent>& events, double duration_s) {
  int reversals = 0;
  for (size_t i = 1; i < events.size(); ++i) {
    reversals += ((events[i - 1].to > events[i - 1].from) != (events[i].to > events[i].from)) ? 1 : 0;
  }
  return duration_s > 0 ? reversals / (duration_s / 3600) : 0;
}

std::string to_json(const SimResult& r) { return json::serialize(object_of(r)); }

std::string to_json(const std::vector<SimResult>& runs) {
  json::array a;
  for (const auto& r : runs) a.push_back(object_of(r));
  return json::serialize(json::object{{"runs", std::move(a)}});
}

std::string to_table(const std::vector<SimResult>& runs) {
  if (runs.empty()) return {};
  std::string s = fmt::format("tidal simulate: {}\n", runs.front().workload);
  auto row = [&](const char* name, auto value) {
    s += fmt::format("{:<24}", name);
    for (const auto& r : runs) s += fmt::format(" {:>16}", value(r));
    s += "\n";
  };
  auto num = [](double v, int prec) { return v < 0 ? std::string("-") : fmt::format("{:.{}f}", v, prec); };
  row("policy", [](const SimResult& r) { return r.policy.substr(0, 16); });
  row("requests", [](const SimResult& r) { return std::to_string(r.requests); });
  row("invalid (client errors)", [](const SimResult& r) { return std::to_string(r.invalid); });
  row("availability %", [&](const SimResult& r) {
    return num(r.valid() ? 100.0 * static_cast<double>(r.completed) / static_cast<double>(r.valid()) : 0, 2);
  });
  row("SLO attainment %", [&](const SimResult& r) {
    return num(r.valid() ? 100.0 * static_cast<double>(r.slo_met) / static_cast<double>(r.valid()) : 0, 2);
  });
  row("TTFT p50 ms", [&](const SimResult& r) { return num(r.ttft_ms.p50, 1); });
  row("TTFT p95 ms", [&](const SimResult& r) { return num(r.ttft_ms.p95, 1); });
  row("TTFT p99 ms", [&](const SimResult& r) { return num(r.ttft_ms.p99, 1); });
  row("E2E p50 ms", [&](const SimResult& r) { return num(r.e2e_ms.p50, 1); });
  row("E2E p95 ms", [&](const SimResult& r) { return num(r.e2e_ms.p95, 1); });
  row("E2E p99 ms", [&](const SimResult& r) { return num(r.e2e_ms.p99, 1); });
  row("cost $", [&](const SimResult& r) { return num(r.cost_usd, 2); });
  row("GPU-hours", [&](const SimResult& r) { return num(r.gpu_hours, 2); });
  row("over-provisioning %", [&](const SimResult& r) { return num(r.overprovisioning_pct, 1); });
  row("scale-up latency s", [&](const SimResult& r) { return num(r.scale_up_latency_s, 0); });
  row("scale-down latency s", [&](const SimResult& r) { return num(r.scale_down_latency_s, 0); });
  row("scaling events", [](const SimResult& r) { return std::to_string(r.scaling_events.size()); });
  row("reversals / hour", [&](const SimResult& r) { return num(r.reversals_per_hour, 2); });
  row("spot preemptions", [](const SimResult& r) { return std::to_string(r.spot_preemptions); });
  row("replicas max / mean", [&](const SimResult& r) { return fmt::format("{} / {:.1f}", r.max_replicas, r.mean_replicas); });
  // Per traffic class, when several: SLO attainment, TTFT p95, refusals.
  for (size_t t = 0; t < runs.front().classes.size(); ++t) {
    const std::string name = runs.front().classes[t].first;
    auto tier = [&](const SimResult& r) -> const ClassResult* { return t < r.classes.size() ? &r.classes[t].second : nullptr; };
    row(("[" + name + "] SLO %").c_str(), [&](const SimResult& r) {
      const ClassResult* x = tier(r);
      return x && x->requests ? num(100.0 * static_cast<double>(x->slo_met) / static_cast<double>(x->requests), 2) : "-";
    });
    row(("[" + name + "] TTFT p95 ms").c_str(), [&](const SimResult& r) {
      const ClassResult* x = tier(r);
      return x ? num(x->ttft_ms.p95, 1) : "-";
    });
    row(("[" + name + "] refused").c_str(), [&](const SimResult& r) {
      const ClassResult* x = tier(r);
      return x ? std::to_string(x->failed) : "-";
    });
  }
  if (!runs.front().classes.empty()) row("Jain fairness (tenants)", [&](const SimResult& r) { return num(r.jain_index, 3); });
  return s;
}

std::string to_markdown(const std::vector<SimResult>& runs) {
  if (runs.empty()) return {};
  auto num = [](double v, int prec) { return v < 0 ? std::string("-") : fmt::format("{:.{}f}", v, prec); };
  auto pct = [](uint64_t n, uint64_t d) { return d ? 100.0 * static_cast<double>(n) / static_cast<double>(d) : 0.0; };
  std::string s = fmt::format("### {}\n\n", runs.front().workload);
  s += "| policy | GPU-hours | cost $ | SLO attainment % | availability % | TTFT p95 ms | E2E p95 ms | "
       "over-provisioning % | scale-up s | scale-down s | reversals / h | replicas max / mean |\n";
  s += "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n";
  for (const auto& r : runs) {
    s += fmt::format("| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} / {:.1f} |\n", r.policy,
                     num(r.gpu_hours, 2), num(r.cost_usd, 2), num(pct(r.slo_met, r.valid()), 2),
                     num(pct(r.completed, r.valid()), 2), num(r.ttft_ms.p95, 0), num(r.e2e_ms.p95, 0),
                     num(r.overprovisioning_pct, 1), num(r.scale_up_latency_s, 0), num(r.scale_down_latency_s, 0),
                     num(r.reversals_per_hour, 2), r.max_replicas, r.mean_replicas);
  }
  return s + "\n";
}

}  // namespace tidal::sim
