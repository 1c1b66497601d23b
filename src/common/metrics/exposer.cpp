#include "common/metrics/exposer.h"

#include <prometheus/text_serializer.h>

namespace tidal::metrics {

std::string serialize(const prometheus::Registry& registry) {
  return prometheus::TextSerializer().Serialize(registry.Collect());
}

std::string serialize(const prometheus::Registry& registry, std::initializer_list<const HistogramFamily*> histograms) {
  auto families = registry.Collect();
  for (const auto* h : histograms) families.push_back(h->collect());
  return prometheus::TextSerializer().Serialize(families);
}

}  // namespace tidal::metrics
