// Starts a per-replica background loop (health checks, metrics scrapes) on an executor;
// an exception that escapes it is logged under `what` (the loop's last catch).
#pragma once

#include <exception>
#include <string_view>

#include "common/internal_errors.h"
#include "common/log.h"
#include "http/types.h"

namespace tidal::fleet::detail {

inline void spawn_replica_loop(http::asio::any_io_executor ex, http::awaitable<void> loop, std::string_view what) {
  http::asio::co_spawn(ex, std::move(loop), [what](std::exception_ptr e) {
    if (!e) return;
    ++internal_errors();
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& ex) {
      logger("fleet")->error("{} stopped error={}", what, ex.what());
    }
  });
}

}  // namespace tidal::fleet::detail
