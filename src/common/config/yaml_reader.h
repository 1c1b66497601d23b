// Strict YAML reading shared by every config file tidal loads: unknown keys, wrong
// types and non-mappings throw a KeyError naming the dotted key, so callers can refuse
// a bad file with "file: key: reason".
#pragma once

#include <yaml-cpp/yaml.h>

#include <set>
#include <stdexcept>
#include <string>
#include <vector>

namespace tidal::config {

struct KeyError : std::runtime_error {
  KeyError(std::string k, std::string why) : std::runtime_error(std::move(why)), key(std::move(k)) {}
  std::string key;
};

// "a" + "b" → "a.b"; "" + "b" → "b".
inline std::string join_key(const std::string& where, const std::string& key) {
  return where.empty() ? key : where + "." + key;
}

// Throws unless `map` is a mapping whose keys are all in `known`.
void check_keys(const YAML::Node& map, const std::string& where, const std::set<std::string>& known);

template <class T>
T as(const YAML::Node& n, const std::string& key) {
  try {
    return n.as<T>();
  } catch (const YAML::Exception&) {
    throw KeyError(key, "has the wrong type");
  }
}

// Sets `out` from map[key] when present.
template <class T>
void read(const YAML::Node& map, const std::string& where, const char* key, T& out) {
  if (auto n = map[key]) out = as<T>(n, join_key(where, key));
}

// A list of strings; a single scalar counts as a one-element list (env overrides set scalars).
std::vector<std::string> strings(const YAML::Node& n, const std::string& key);

}  // namespace tidal::config
