// The Chart.js UMD bundle compiled into the binary.
#pragma once

#include <string_view>

namespace tidal::sim {

[[nodiscard]] std::string_view chartjs_source();

}  // namespace tidal::sim
