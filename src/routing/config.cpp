#include "routing/config.h"

#include <algorithm>

#include "common/config/yaml_reader.h"

namespace tidal::routing {
namespace {

std::string join(const std::vector<std::string_view>& names) {
  std::string out;
  for (auto n : names) {
    if (!out.empty()) out += ", ";
    out += n;
  }
  return out;
}

bool known(const std::vector<std::string_view>& names, std::string_view n) {
  return std::find(names.begin(), names.end(), n) != names.end();
}

}  // namespace

const std::vector<std::string_view>& known_policies() {
  static const std::vector<std::string_view> names = {
      "least_outstanding", "round_robin", "random",   "weighted",        "peak_ewma", "token_budget",
      "slots",             "kv_usage",    "session",  "prefix_affinity", "composite"};
  return names;
}

const std::vector<std::string_view>& known_scorers() {
  static const std::vector<std::string_view> names = {"load", "latency", "tokens", "queue", "kv", "slots", "prefix", "session"};
  return names;
}

const std::vector<std::string_view>& known_filters() {
  static const std::vector<std::string_view> names = {"budget"};
  return names;
}

bool RoutingConfig::uses_prefix_index() const {
  if (policy == "prefix_affinity") return true;
  if (policy != "composite") return false;
  return std::any_of(scorers.begin(), scorers.end(), [](const auto& s) { return s.first == "prefix"; });
}

void read_routing(const YAML::Node& n, const std::string& where, RoutingConfig& c) {
  using config::join_key;
  using config::read;
  config::check_keys(n, where, {"policy", "choices", "half_life_s", "token_budget", "prefix", "session", "filters", "scorers"});
  read(n, where, "policy", c.policy);
  if (n["policy"] && c.policy != "composite") {
    // A pool that picks another policy does not inherit the top level's composite parts.
    c.scorers.clear();
    c.filters.clear();
  }
  if (auto ch = n["choices"]) {
    const std::string key = join_key(where, "choices");
    if (ch.IsScalar() && ch.Scalar() == "all") {
      c.choices = kAllChoices;
    } else {
      const auto v = config::as<int64_t>(ch, key);
      if (v < 1) throw config::KeyError(key, "must be >= 1 or \"all\"");
      c.choices = static_cast<uint32_t>(v);
    }
  }
  read(n, where, "half_life_s", c.half_life_s);
  read(n, where, "token_budget", c.token_budget);
  if (auto p = n["prefix"]) {
    const std::string w = join_key(where, "prefix");
    config::check_keys(p, w, {"cache_blocks", "max_pending_prefill_tokens", "request_cost_tokens"});
    read(p, w, "request_cost_tokens", c.prefix.request_cost_tokens);
    read(p, w, "cache_blocks", c.prefix.cache_blocks);
    read(p, w, "max_pending_prefill_tokens", c.prefix.max_pending_prefill_tokens);
  }
  if (auto s = n["session"]) {
    const std::string w = join_key(where, "session");
    config::check_keys(s, w, {"load_factor"});
    read(s, w, "load_factor", c.session_load_factor);
  }
  if (auto f = n["filters"]) c.filters = config::strings(f, join_key(where, "filters"));
  if (auto s = n["scorers"]) {
    const std::string w = join_key(where, "scorers");
    if (!s.IsMap()) throw config::KeyError(w, "must be a mapping of scorer name to weight");
    c.scorers.clear();
    for (const auto& kv : s) {
      const auto name = kv.first.as<std::string>();
      c.scorers.emplace_back(name, config::as<double>(kv.second, join_key(w, name)));
    }
  }
}

Result<bool> validate(const RoutingConfig& c, const std::string& where) {
  auto bad = [&](const std::string& key, std::string why) {
    return make_error(ErrorKind::kInvalidRequest, std::move(why), config::join_key(where, key));
  };
  if (!known(known_policies(), c.policy)) {
    return bad("policy", "unknown policy '" + c.policy + "' (known: " + join(known_policies()) + ")");
  }
  if (!(c.half_life_s > 0)) return bad("half_life_s", "must be > 0");
  if (c.prefix.cache_blocks < 1) return bad("prefix.cache_blocks", "must be >= 1");
  if (!(c.session_load_factor >= 1)) return bad("session.load_factor", "must be >= 1");
  for (const auto& f : c.filters) {
    if (!known(known_filters(), f)) return bad("filters", "unknown filter '" + f + "' (known: " + join(known_filters()) + ")");
  }
  for (const auto& [name, weight] : c.scorers) {
    if (!known(known_scorers(), name)) {
      return bad("scorers." + name, "unknown scorer (known: " + join(known_scorers()) + ")");
    }
    if (!(weight >= 0)) return bad("scorers." + name, "weight must be >= 0");
  }
  if (c.policy == "composite" && c.scorers.empty()) return bad("scorers", "composite needs at least one scorer");
  if (c.policy != "composite" && (!c.scorers.empty() || !c.filters.empty())) {
    return bad(c.scorers.empty() ? "filters" : "scorers", "only the composite policy takes filters and scorers");
  }
  return true;
}

}  // namespace tidal::routing
