// Prometheus text exposition of a prometheus-cpp registry, served by tidal's own
// HTTP servers (no second listener).
#pragma once

#include <prometheus/registry.h>

#include <string>

namespace tidal::metrics {

inline constexpr const char* kContentType = "text/plain; version=0.0.4; charset=utf-8";

[[nodiscard]] std::string serialize(const prometheus::Registry& registry);

}  // namespace tidal::metrics
