#include "sim/sim_config.h"

#include "common/config/yaml_reader.h"

#include <ctime>
#include <fstream>
#include <set>
#include <sstream>

#include "engine/model/preset.h"

namespace tidal::sim {
namespace {

using config::KeyError;
using config::read;

// "YYYY-MM-DDTHH:MM:SSZ" (UTC) -> Unix seconds.
double utc_seconds(const std::string& text, const std::string& key) {
  std::tm tm{};
  const char* end = strptime(text.c_str(), "%Y-%m-%dT%H:%M:%SZ", &tm);
  if (!end || *end != '\0') throw KeyError(key, "must be a UTC time YYYY-MM-DDTHH:MM:SSZ, got '" + text + "'");
  return static_cast<double>(timegm(&tm));
}

}  // namespace

double default_cold_start_s(const std::string& mode) {
  if (mode == "image_pull") return 600;    // 20 GB image with weights on Kubernetes (BentoML 2025)
  if (mode == "baked_image") return 233;   // vLLM 8B with nothing cached, less the download (Tensorfuse 2025)
  if (mode == "shared_volume") return 82;  // vLLM 8B with caches on a volume (Tensorfuse 2025)
  if (mode == "warm_pool") return 4;       // hot start from a warm standby (llm-d)
  return -1;
}

Result<bool> resolve_admission(SimConfig& c) {
  auto bad = [](const std::string& key, std::string why) { return make_error(ErrorKind::kInvalidRequest, std::move(why), key); };
  if (c.admission.tiers.empty()) {
    const std::string default_tier = c.admission.default_tier;
    const bool fair = c.admission.fair;
    c.admission = admission::single_tier(c.max_queue, c.queue_timeout_s);
    c.admission.fair = fair;
    if (!default_tier.empty() && default_tier != "default") {
      return bad("admission.default_tier", "'" + default_tier + "' is not one of the tiers");
    }
  }
  if (auto ok = admission::validate(c.admission, "admission"); !ok) return ok.error();
  if (c.traffic.empty()) c.traffic.push_back(TrafficClass{c.admission.tiers[c.admission.default_index()].name});
  for (size_t i = 0; i < c.traffic.size(); ++i) {
    auto& tc = c.traffic[i];
    const std::string at = "traffic[" + std::to_string(i) + "]";
    const int t = tc.tier.empty() ? static_cast<int>(c.admission.default_index()) : c.admission.tier_index(tc.tier);
    if (t < 0) return bad(at + ".tier", "'" + tc.tier + "' is not an admission tier");
    if (!(tc.share > 0)) return bad(at + ".share", "must be > 0");
    if (tc.tenants < 1) return bad(at + ".tenants", "must be >= 1");
    tc.tier_index = static_cast<uint32_t>(t);
    tc.tier = c.admission.tiers[tc.tier_index].name;
    if (tc.name.empty()) tc.name = tc.tier;
    for (size_t j = 0; j < i; ++j) {
      if (c.traffic[j].name == tc.name) return bad(at + ".name", "'" + tc.name + "' is used twice");
    }
  }
  return true;
}

Result<SimConfig> parse_sim_config(const std::string& yaml, const std::string& origin) {
  SimConfig c;
  try {
    YAML::Node root = YAML::Load(yaml);
    if (root.IsNull()) return c;
    config::check_keys(root, "", {"name", "preset", "instance", "fleet", "gateway", "routing", "scaling", "slo",
                                  "start_time", "admission", "traffic"});
    read(root, "", "name", c.name);
    read(root, "", "preset", c.preset);
    if (root["start_time"]) c.start_unix_s = utc_seconds(config::as<std::string>(root["start_time"], "start_time"), "start_time");
    if (auto n = root["instance"]) {
      config::check_keys(n, "instance", {"type", "price_per_hour", "gpus", "start_mode", "cold_start_s", "spot_fraction",
                                         "spot_price_per_hour", "spot_preemptions_per_hour", "spot_notice_s"});
      read(n, "instance", "type", c.instance.type);
      read(n, "instance", "price_per_hour", c.instance.price_per_hour);
      read(n, "instance", "gpus", c.instance.gpus);
      read(n, "instance", "start_mode", c.instance.start_mode);
      read(n, "instance", "cold_start_s", c.instance.cold_start_s);
      read(n, "instance", "spot_fraction", c.instance.spot_fraction);
      read(n, "instance", "spot_price_per_hour", c.instance.spot_price_per_hour);
      read(n, "instance", "spot_preemptions_per_hour", c.instance.spot_preemptions_per_hour);
      read(n, "instance", "spot_notice_s", c.instance.spot_notice_s);
    }
    if (auto n = root["fleet"]) {
      config::check_keys(n, "fleet", {"initial", "min", "max"});
      if (auto i = n["initial"]; i && i.IsScalar() && i.Scalar() == "auto") {
        c.initial_replicas = kInitialAuto;
      } else {
        read(n, "fleet", "initial", c.initial_replicas);
      }
      read(n, "fleet", "min", c.scaling.min_replicas);
      read(n, "fleet", "max", c.scaling.max_replicas);
    }
    if (auto n = root["gateway"]) {
      config::check_keys(n, "gateway", {"max_in_flight_per_replica", "queue_timeout_s", "max_queue", "retry_preempted"});
      read(n, "gateway", "max_in_flight_per_replica", c.max_in_flight_per_replica);
      read(n, "gateway", "queue_timeout_s", c.queue_timeout_s);
      read(n, "gateway", "max_queue", c.max_queue);
      read(n, "gateway", "retry_preempted", c.retry_preempted);
    }
    if (auto n = root["routing"]) routing::read_routing(n, "routing", c.routing);
    if (auto n = root["admission"]) admission::read_admission(n, "admission", c.admission);
    if (auto n = root["traffic"]) {
      if (!n.IsSequence()) throw KeyError("traffic", "must be a list of {name, tier, share, tenants}");
      for (size_t i = 0; i < n.size(); ++i) {
        const std::string at = "traffic[" + std::to_string(i) + "]";
        config::check_keys(n[i], at, {"name", "tier", "share", "tenants"});
        TrafficClass tc;
        read(n[i], at, "name", tc.name);
        read(n[i], at, "tier", tc.tier);
        read(n[i], at, "share", tc.share);
        read(n[i], at, "tenants", tc.tenants);
        c.traffic.push_back(std::move(tc));
      }
    }
    if (auto n = root["scaling"]) scaling::read_scaling(n, "scaling", c.scaling);
    if (auto n = root["slo"]) {
      config::check_keys(n, "slo", {"ttft_ms", "e2e_ms", "tpot_ms"});
      read(n, "slo", "ttft_ms", c.slo_ttft_ms);
      read(n, "slo", "e2e_ms", c.slo_e2e_ms);
      read(n, "slo", "tpot_ms", c.slo_tpot_ms);
    }
  } catch (const KeyError& e) {
    return make_error(ErrorKind::kInvalidRequest, origin + ": " + e.key + ": " + e.what(), e.key);
  } catch (const YAML::Exception& e) {
    return make_error(ErrorKind::kInvalidRequest, origin + ": " + e.what());
  }
  auto bad = [&](const std::string& key, const std::string& why) {
    return make_error(ErrorKind::kInvalidRequest, origin + ": " + key + ": " + why, key);
  };
  if (!engine::find_preset(c.preset)) return bad("preset", "unknown preset '" + c.preset + "'");
  if (c.instance.cold_start_s < 0 && default_cold_start_s(c.instance.start_mode) < 0) {
    return bad("instance.start_mode", "must be image_pull, baked_image, shared_volume or warm_pool");
  }
  if (c.scaling.min_replicas < 0 || c.scaling.max_replicas < std::max(1, c.scaling.min_replicas)) {
    return bad("fleet", "needs 0 <= min <= max, max >= 1");
  }
  if (auto ok = scaling::validate(c.scaling, "scaling"); !ok) return bad(ok.error().param, ok.error().message);
  if (c.instance.spot_fraction < 0 || c.instance.spot_fraction > 1) return bad("instance.spot_fraction", "must be in [0, 1]");
  if (c.instance.spot_preemptions_per_hour < 0) return bad("instance.spot_preemptions_per_hour", "must be >= 0");
  if (c.instance.spot_notice_s < 0) return bad("instance.spot_notice_s", "must be >= 0");
  if (auto ok = routing::validate(c.routing, "routing"); !ok) return bad(ok.error().param, ok.error().message);
  if (auto ok = resolve_admission(c); !ok) return bad(ok.error().param, ok.error().message);
  const double cold = c.instance.cold_start_s >= 0 ? c.instance.cold_start_s : default_cold_start_s(c.instance.start_mode);
  if (c.scaling.ready_timeout_s <= cold) {
    return bad("scaling.ready_timeout_s", "must exceed the instance's cold start (" + std::to_string(cold) + " s)");
  }
  const bool fixed = c.scaling.has("static_peak") || c.scaling.has("static_mean");
  if (fixed && c.scaling.policies.size() != 1) return bad("scaling.policy", "static_peak and static_mean stand alone");
  if (c.slo_tpot_ms <= 0) return bad("slo.tpot_ms", "must be > 0 (it sets the replica capacity target)");
  return c;
}

Result<SimConfig> load_sim_config(const std::string& path) {
  std::ifstream in(path);
  if (!in) return make_error(ErrorKind::kInvalidRequest, path + ": cannot open the file");
  std::stringstream ss;
  ss << in.rdbuf();
  return parse_sim_config(ss.str(), path);
}

}  // namespace tidal::sim
