// GET /admin/scaling: the controller's state as JSON, for people and the dashboard.
#include <boost/json.hpp>

#include "scaling/io/controller.h"

namespace tidal::scaling {
namespace {

namespace json = boost::json;

json::object decision_json(const Decision& d) {
  json::array votes;
  for (const auto& v : d.votes) votes.push_back(json::object{{"policy", v.policy}, {"replicas", v.replicas}, {"reason", v.reason}});
  return json::object{{"t_s", d.t_s},
                      {"current", d.current},
                      {"recommended", d.recommended},
                      {"desired", d.desired},
                      {"direction", d.desired > d.current ? "up" : d.desired < d.current ? "down" : "none"},
                      {"policy", d.policy},
                      {"reason", d.reason},
                      {"votes", std::move(votes)},
                      {"signals", json::object{{"ready", d.ready},
                                               {"starting", d.starting},
                                               {"draining", d.draining},
                                               {"queue_depth", d.queue_depth},
                                               {"in_flight", d.in_flight},
                                               {"rps", d.rps},
                                               {"ttft_p95_ms", d.ttft_p95_ms}}}};
}

}  // namespace

std::string Controller::admin_json() const {
  std::lock_guard lock(mu_);
  json::object o;
  o["pool"] = pool_;
  o["interval_s"] = config_.interval_s;
  o["min_replicas"] = config_.min_replicas;
  o["max_replicas"] = config_.max_replicas;
  if (!loop_) return json::serialize(o);
  o["policy"] = loop_->autoscaler().policy_names();
  o["actuator"] = config_.actuator;
  const auto& ledger = loop_->ledger();
  json::array replicas;
  auto opt = [](const std::optional<double>& v) { return v ? json::value(*v) : json::value(nullptr); };
  for (const auto& m : ledger.members()) {
    json::object r{{"id", m.id},
                   {"url", actuator_->url_of(m.id)},
                   {"phase", std::string(to_string(m.phase))},
                   {"since_s", m.phase_since_s},
                   {"in_flight", m.in_flight},
                   {"kv_usage", nullptr},
                   {"engine_waiting", nullptr},
                   {"slot_usage", nullptr},
                   {"cpu_pct", nullptr},
                   {"memory_bytes", nullptr}};
    for (const auto& s : last_signals_.replicas) {  // engine metrics as the last tick saw them
      if (s.id != m.id) continue;
      r["kv_usage"] = opt(s.kv_usage);
      r["engine_waiting"] = opt(s.engine_waiting);
      r["slot_usage"] = opt(s.slot_usage);
      r["cpu_pct"] = opt(s.cpu_pct);
      r["memory_bytes"] = opt(s.memory_bytes);
    }
    replicas.push_back(std::move(r));
  }
  o["fleet"] = json::object{{"ready", ledger.count(Phase::kReady)},
                            {"starting", ledger.count(Phase::kStarting)},
                            {"draining", ledger.count(Phase::kDraining)},
                            {"replicas", std::move(replicas)}};
  o["load"] = json::object{{"load_fresh", last_signals_.load_fresh},
                           {"queue_depth", last_signals_.queue_depth},
                           {"in_flight", last_signals_.in_flight},
                           {"rps", last_signals_.rps},
                           {"prompt_tokens_per_s", last_signals_.prompt_tokens_per_s},
                           {"ttft_p95_ms", last_signals_.ttft_p95_ms},
                           {"tpot_p95_ms", last_signals_.tpot_p95_ms},
                           {"external", [&] {
                              json::object e;
                              for (const auto& [k, v] : last_signals_.external) e[k] = v;
                              return e;
                            }()},
                           {"output_tokens_per_s", last_signals_.output_tokens_per_s},
                           {"e2e_p95_ms", last_signals_.e2e_p95_ms}};
  json::object learned;  // what the policies learned (the slo policy's fitted step model)
  for (const auto& p : loop_->autoscaler().policies()) {
    auto st = p->state();
    if (st.empty()) continue;
    json::object po;
    for (const auto& [k, v] : st) po[k] = v;
    learned[p->name()] = std::move(po);
  }
  o["policies"] = std::move(learned);
  if (const Decision* d = loop_->autoscaler().last()) o["last_decision"] = decision_json(*d);
  json::array changes;
  for (const auto& d : loop_->autoscaler().history()) changes.push_back(decision_json(d));
  o["decisions"] = std::move(changes);
  return json::serialize(o);
}

}  // namespace tidal::scaling
