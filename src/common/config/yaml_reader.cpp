#include "common/config/yaml_reader.h"

namespace tidal::config {

void check_keys(const YAML::Node& map, const std::string& where, const std::set<std::string>& known) {
  if (!map.IsMap()) throw KeyError(where, "must be a mapping");
  for (const auto& kv : map) {
    const auto key = kv.first.as<std::string>();
    if (!known.count(key)) throw KeyError(join_key(where, key), "is not a known key");
  }
}

std::vector<std::string> strings(const YAML::Node& n, const std::string& key) {
  if (n.IsScalar()) return {n.as<std::string>()};
  if (!n.IsSequence()) throw KeyError(key, "must be a list of strings");
  std::vector<std::string> out;
  for (const auto& v : n) out.push_back(as<std::string>(v, key));
  return out;
}

}  // namespace tidal::config
