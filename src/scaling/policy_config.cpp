// The policy sections of `scaling:` (kpa, predictive, slo, schedule): reading and checks.
#include <algorithm>
#include <cstdio>

#include "common/config/yaml_reader.h"
#include "engine/model/preset.h"
#include "scaling/config.h"
#include "scaling/time_zone.h"

namespace tidal::scaling {
namespace {

using config::check_keys;
using config::join_key;
using config::KeyError;
using config::read;

// "HH:MM" (00:00 .. 24:00) -> minutes after midnight.
int clock_minutes(const YAML::Node& n, const std::string& key) {
  const auto text = config::as<std::string>(n, key);
  int h = -1, m = -1;
  char tail = 0;
  if (std::sscanf(text.c_str(), "%d:%d%c", &h, &m, &tail) != 2 || h < 0 || h > 24 || m < 0 || m > 59 ||
      (h == 24 && m != 0)) {
    throw KeyError(key, "must be a time of day HH:MM, got '" + text + "'");
  }
  return h * 60 + m;
}

std::vector<int> day_list(const YAML::Node& n, const std::string& key) {
  static const char* const kDays[] = {"mon", "tue", "wed", "thu", "fri", "sat", "sun"};
  std::vector<int> days;
  for (const auto& d : config::strings(n, key)) {
    if (d == "weekdays") {
      for (int i = 0; i < 5; ++i) days.push_back(i);
      continue;
    }
    if (d == "weekends") {
      days.insert(days.end(), {5, 6});
      continue;
    }
    const auto* it = std::find_if(std::begin(kDays), std::end(kDays), [&](const char* k) { return d == k; });
    if (it == std::end(kDays)) throw KeyError(key, "has an unknown day '" + d + "' (mon..sun, weekdays, weekends)");
    days.push_back(static_cast<int>(it - std::begin(kDays)));
  }
  std::sort(days.begin(), days.end());
  days.erase(std::unique(days.begin(), days.end()), days.end());
  return days;
}

}  // namespace

const std::vector<std::string_view>& known_policies() {
  static const std::vector<std::string_view> kKnown{"static", "threshold", "hpa", "kpa", "predictive", "slo", "schedule"};
  return kKnown;
}

std::string known_policy_list() {
  std::string s;
  for (auto p : known_policies()) s.append(s.empty() ? "" : ", ").append(p);
  return s;
}

void read_policy_sections(const YAML::Node& n, const std::string& where, ScalingConfig& c) {
  if (auto p = n["predictive"]) {
    const std::string pw = join_key(where, "predictive");
    check_keys(p, pw, {"lead_s", "rps_per_replica", "bucket_s", "alpha", "beta", "gamma", "season_s", "slot_s",
                       "history_file"});
    read(p, pw, "lead_s", c.predictive.lead_s);
    read(p, pw, "rps_per_replica", c.predictive.rps_per_replica);
    read(p, pw, "bucket_s", c.predictive.forecast.bucket_s);
    read(p, pw, "alpha", c.predictive.forecast.alpha);
    read(p, pw, "beta", c.predictive.forecast.beta);
    read(p, pw, "gamma", c.predictive.forecast.gamma);
    read(p, pw, "season_s", c.predictive.forecast.season_s);
    read(p, pw, "slot_s", c.predictive.forecast.slot_s);
    read(p, pw, "history_file", c.predictive.history_file);
  }
  if (auto k = n["kpa"]) {
    const std::string kw = join_key(where, "kpa");
    check_keys(k, kw, {"metric", "target", "target_utilization", "stable_window_s", "panic_window_pct",
                       "panic_threshold", "max_scale_up_rate", "max_scale_down_rate"});
    read(k, kw, "metric", c.kpa.metric);
    read(k, kw, "target", c.kpa.target);
    read(k, kw, "target_utilization", c.kpa.target_utilization);
    read(k, kw, "stable_window_s", c.kpa.stable_window_s);
    read(k, kw, "panic_window_pct", c.kpa.panic_window_pct);
    read(k, kw, "panic_threshold", c.kpa.panic_threshold);
    read(k, kw, "max_scale_up_rate", c.kpa.max_scale_up_rate);
    read(k, kw, "max_scale_down_rate", c.kpa.max_scale_down_rate);
  }
  if (auto s = n["slo"]) {
    const std::string sw = join_key(where, "slo");
    check_keys(s, sw, {"ttft_p95_ms", "tpot_ms", "prior", "max_batch", "headroom", "backlog_drain_s", "calibrate"});
    read(s, sw, "ttft_p95_ms", c.slo.ttft_p95_ms);
    read(s, sw, "tpot_ms", c.slo.tpot_ms);
    read(s, sw, "prior", c.slo.prior);
    read(s, sw, "max_batch", c.slo.max_batch);
    read(s, sw, "headroom", c.slo.headroom);
    read(s, sw, "backlog_drain_s", c.slo.backlog_drain_s);
    read(s, sw, "calibrate", c.slo.calibrate);
  }
  if (auto k = n["kubernetes"]) {
    const std::string kw = join_key(where, "kubernetes");
    check_keys(k, kw, {"kubeconfig", "namespace", "deployment", "service", "port", "sync_interval_s"});
    read(k, kw, "kubeconfig", c.kubernetes.kubeconfig);
    read(k, kw, "namespace", c.kubernetes.ns);
    read(k, kw, "deployment", c.kubernetes.deployment);
    read(k, kw, "service", c.kubernetes.service);
    read(k, kw, "port", c.kubernetes.port);
    read(k, kw, "sync_interval_s", c.kubernetes.sync_interval_s);
  }
  if (auto s = n["schedule"]) {
    const std::string sw = join_key(where, "schedule");
    check_keys(s, sw, {"timezone", "windows"});
    read(s, sw, "timezone", c.schedule.timezone);
    if (auto ws = s["windows"]) {
      if (!ws.IsSequence()) throw KeyError(join_key(sw, "windows"), "must be a list");
      c.schedule.windows.clear();
      for (size_t i = 0; i < ws.size(); ++i) {
        const std::string ww = join_key(sw, "windows[" + std::to_string(i) + "]");
        const auto& w = ws[i];
        check_keys(w, ww, {"name", "days", "start", "end", "minReplicas"});
        ScheduleWindow out;
        out.name = "window " + std::to_string(i);
        read(w, ww, "name", out.name);
        if (w["days"]) out.days = day_list(w["days"], join_key(ww, "days"));
        if (!w["start"] || !w["end"] || !w["minReplicas"]) throw KeyError(ww, "needs start, end and minReplicas");
        out.start_min = clock_minutes(w["start"], join_key(ww, "start"));
        out.end_min = clock_minutes(w["end"], join_key(ww, "end"));
        read(w, ww, "minReplicas", out.min_replicas);
        c.schedule.windows.push_back(std::move(out));
      }
    }
  }
}

Result<bool> validate_policy_sections(const ScalingConfig& c, const std::string& where) {
  auto bad = [&](const std::string& key, const std::string& why) -> Result<bool> {
    return make_error(ErrorKind::kInvalidRequest, why, join_key(where, key));
  };
  if (c.has("predictive")) {
    const auto& p = c.predictive;
    if (!(p.lead_s >= 0)) return bad("predictive.lead_s", "must be >= 0");
    if (!(p.rps_per_replica >= 0)) return bad("predictive.rps_per_replica", "must be > 0");
    if (!(p.forecast.bucket_s > 0)) return bad("predictive.bucket_s", "must be > 0");
    for (auto [key, v] : {std::pair{"predictive.alpha", p.forecast.alpha}, std::pair{"predictive.beta", p.forecast.beta},
                          std::pair{"predictive.gamma", p.forecast.gamma}}) {
      if (!(v >= 0 && v <= 1)) return bad(key, "must be in [0, 1]");
    }
    if (!(p.forecast.season_s >= 0)) return bad("predictive.season_s", "must be >= 0 (0: no season)");
    if (p.forecast.season_s > 0 && !(p.forecast.slot_s > 0 && p.forecast.slot_s <= p.forecast.season_s)) {
      return bad("predictive.slot_s", "must be in (0, season_s]");
    }
  }
  if (c.has("kpa")) {
    const auto& k = c.kpa;
    if (k.metric != "concurrency" && k.metric != "requests_per_second") {
      return bad("kpa.metric", "must be concurrency or requests_per_second");
    }
    if (!(k.target > 0)) return bad("kpa.target", "must be > 0");
    if (!(k.target_utilization > 0 && k.target_utilization <= 1)) return bad("kpa.target_utilization", "must be in (0, 1]");
    if (!(k.stable_window_s > 0)) return bad("kpa.stable_window_s", "must be > 0");
    if (!(k.panic_window_pct > 0 && k.panic_window_pct <= 100)) return bad("kpa.panic_window_pct", "must be in (0, 100]");
    if (!(k.panic_threshold > 1)) return bad("kpa.panic_threshold", "must be > 1");
    if (!(k.max_scale_up_rate > 1)) return bad("kpa.max_scale_up_rate", "must be > 1");
    if (!(k.max_scale_down_rate > 1)) return bad("kpa.max_scale_down_rate", "must be > 1");
  }
  if (c.has("slo")) {
    const auto& s = c.slo;
    if (!(s.ttft_p95_ms > 0)) return bad("slo.ttft_p95_ms", "must be > 0");
    if (!(s.tpot_ms > 0)) return bad("slo.tpot_ms", "must be > 0");
    if (!(s.headroom > 0 && s.headroom <= 1)) return bad("slo.headroom", "must be in (0, 1]");
    if (!(s.backlog_drain_s > 0)) return bad("slo.backlog_drain_s", "must be > 0");
    if (!s.prior.empty() && !engine::find_preset(s.prior)) {
      std::string names;
      for (const auto& p : engine::presets()) names.append(names.empty() ? "" : ", ").append(p.name);
      return bad("slo.prior", "unknown engine preset '" + s.prior + "' (known: " + names + ")");
    }
  }
  if (c.has("schedule")) {
    if (c.schedule.windows.empty()) return bad("schedule.windows", "the schedule policy needs at least one window");
    if (!time_zone_exists(c.schedule.timezone)) {
      return bad("schedule.timezone", "unknown time zone '" + c.schedule.timezone + "' (an IANA name such as Europe/Paris)");
    }
    for (size_t i = 0; i < c.schedule.windows.size(); ++i) {
      const auto& w = c.schedule.windows[i];
      const std::string key = "schedule.windows[" + std::to_string(i) + "]";
      if (w.min_replicas < 0) return bad(key + ".minReplicas", "must be >= 0");
      if (w.min_replicas > c.max_replicas) return bad(key + ".minReplicas", "must be <= maxReplicas");
      if (w.start_min == w.end_min) return bad(key + ".end", "must differ from start");
    }
  }
  return true;
}

}  // namespace tidal::scaling
