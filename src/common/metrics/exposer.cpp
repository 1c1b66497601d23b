#include "common/metrics/exposer.h"

#include <prometheus/text_serializer.h>

namespace tidal::metrics {

std::string serialize(const prometheus::Registry& registry) {
  return prometheus::TextSerializer().Serialize(registry.Collect());
}

}  // namespace tidal::metrics
