#include "admission/config.h"

#include "common/config/yaml_reader.h"

namespace tidal::admission {

int AdmissionConfig::tier_index(std::string_view name) const {
  for (size_t i = 0; i < tiers.size(); ++i) {
    if (tiers[i].name == name) return static_cast<int>(i);
  }
  return -1;
}

uint32_t AdmissionConfig::default_index() const {
  const int i = default_tier.empty() ? -1 : tier_index(default_tier);
  if (i >= 0) return static_cast<uint32_t>(i);
  return tiers.empty() ? 0 : static_cast<uint32_t>(tiers.size() - 1);
}

AdmissionConfig single_tier(uint32_t max_queue, double max_wait_s) {
  AdmissionConfig c;
  c.tiers.push_back(TierConfig{.name = "default", .max_queue_wait_s = max_wait_s, .max_queue = max_queue});
  return c;
}

void read_admission(const YAML::Node& n, const std::string& where, AdmissionConfig& c) {
  using config::join_key;
  using config::read;
  config::check_keys(n, where, {"default_tier", "fairness", "tiers"});
  read(n, where, "default_tier", c.default_tier);
  if (auto f = n["fairness"]) {
    const auto v = config::as<std::string>(f, join_key(where, "fairness"));
    if (v != "vtc" && v != "none") throw config::KeyError(join_key(where, "fairness"), "must be vtc or none, not '" + v + "'");
    c.fair = v == "vtc";
  }
  if (auto t = n["tiers"]) {
    // New tiers (a pool's own): an inherited default tier no longer applies.
    if (!n["default_tier"]) c.default_tier.clear();
    const std::string key = join_key(where, "tiers");
    if (!t.IsSequence()) throw config::KeyError(key, "must be a list of tiers");
    c.tiers.clear();
    for (size_t i = 0; i < t.size(); ++i) {
      const std::string at = key + "[" + std::to_string(i) + "]";
      const YAML::Node& tn = t[i];
      config::check_keys(tn, at, {"name", "max_queue_wait_s", "max_queue", "aging_s", "order", "ttft_target_ms", "hedge",
                                  "hedge_delay_ms", "reserved_slots"});
      TierConfig tier;
      read(tn, at, "name", tier.name);
      read(tn, at, "max_queue_wait_s", tier.max_queue_wait_s);
      read(tn, at, "max_queue", tier.max_queue);
      read(tn, at, "aging_s", tier.aging_s);
      read(tn, at, "ttft_target_ms", tier.ttft_target_ms);
      read(tn, at, "hedge", tier.hedge);
      read(tn, at, "hedge_delay_ms", tier.hedge_delay_ms);
      read(tn, at, "reserved_slots", tier.reserved_slots);
      if (auto o = tn["order"]) {
        const auto v = config::as<std::string>(o, join_key(at, "order"));
        if (v != "fcfs" && v != "edf") throw config::KeyError(join_key(at, "order"), "must be fcfs or edf, not '" + v + "'");
        tier.order = v == "edf" ? Order::kEdf : Order::kFcfs;
      }
      c.tiers.push_back(std::move(tier));
    }
  }
}

Result<bool> validate(const AdmissionConfig& c, const std::string& where) {
  auto bad = [&](const std::string& key, std::string why) {
    return make_error(ErrorKind::kInvalidRequest, std::move(why), config::join_key(where, key));
  };
  for (size_t i = 0; i < c.tiers.size(); ++i) {
    const auto& t = c.tiers[i];
    const std::string at = "tiers[" + std::to_string(i) + "]";
    if (t.name.empty()) return bad(at + ".name", "is required");
    if (c.tier_index(t.name) != static_cast<int>(i)) return bad(at + ".name", "'" + t.name + "' is used twice");
    if (!(t.max_queue_wait_s > 0)) return bad(at + ".max_queue_wait_s", "must be > 0");
    if (t.aging_s < 0) return bad(at + ".aging_s", "must be >= 0");
    if (t.ttft_target_ms < 0) return bad(at + ".ttft_target_ms", "must be >= 0");
    if (t.hedge_delay_ms < 0) return bad(at + ".hedge_delay_ms", "must be >= 0");
  }
  if (!c.default_tier.empty() && c.tier_index(c.default_tier) < 0) {
    return bad("default_tier", "'" + c.default_tier + "' is not one of the tiers");
  }
  return true;
}

}  // namespace tidal::admission
