// GET /v1/models across replicas: the union of the models every ready replica lists.
#pragma once

#include <string>
#include <vector>

namespace tidal::gateway {

// Merges OpenAI model-list bodies ({"object":"list","data":[{"id":…},…]}) by id, first
// seen wins; bodies that do not parse are skipped. Returns the merged list body.
[[nodiscard]] std::string merge_model_lists(const std::vector<std::string>& bodies);

}  // namespace tidal::gateway
