// Unexpected failures caught at the top of a coroutine (a session, a background loop),
// counted process-wide; the gateway exports the count as tidal_internal_errors_total.
#pragma once

#include <atomic>
#include <cstdint>

namespace tidal {

inline std::atomic<uint64_t>& internal_errors() {
  static std::atomic<uint64_t> count{0};
  return count;
}

}  // namespace tidal
