// Prometheus text exposition of a prometheus-cpp registry, served by tidal's own
// HTTP servers (no second listener).
#pragma once

#include <prometheus/registry.h>

#include <initializer_list>
#include <string>

#include "common/metrics/histogram.h"

namespace tidal::metrics {

inline constexpr const char* kContentType = "text/plain; version=0.0.4; charset=utf-8";

[[nodiscard]] std::string serialize(const prometheus::Registry& registry);
// The registry's families, then `histograms` (tidal's lock-free ones).
[[nodiscard]] std::string serialize(const prometheus::Registry& registry,
                                    std::initializer_list<const HistogramFamily*> histograms);

}  // namespace tidal::metrics
