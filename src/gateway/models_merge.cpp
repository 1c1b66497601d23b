#include "gateway/models_merge.h"

#include <boost/json.hpp>

#include <set>

namespace tidal::gateway {

std::string merge_model_lists(const std::vector<std::string>& bodies) {
  namespace json = boost::json;
  json::array data;
  std::set<std::string> seen;
  for (const auto& body : bodies) {
    boost::system::error_code ec;
    json::value v = json::parse(body, ec);
    if (ec || !v.is_object()) continue;
    const auto* list = v.get_object().if_contains("data");
    if (!list || !list->is_array()) continue;
    for (const auto& m : list->get_array()) {
      if (!m.is_object()) continue;
      const auto* id = m.get_object().if_contains("id");
      if (!id || !id->is_string()) continue;
      if (seen.insert(std::string(id->get_string())).second) data.push_back(m);
    }
  }
  return json::serialize(json::object{{"object", "list"}, {"data", std::move(data)}});
}

}  // namespace tidal::gateway
