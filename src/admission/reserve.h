// Per-tier reserved capacity: a tier with `reserved_slots: R` keeps up to R of the
// pool's free slots for itself and the tiers above it, so a burst of lower-tier
// requests cannot take the last slots a paid request would need. Pure; the gateway's
// AdmissionQueue and the simulator both ask it before taking a slot.
#pragma once

#include <cstdint>
#include <span>

#include "admission/config.h"

namespace tidal::admission {

inline constexpr int64_t kUnlimitedSlots = -1;

// Whether a request of `tier` may take one of `free_slots` free slots of the pool now.
// `held[j]`: slots tier j holds. A tier j above `tier` with reserved_slots R_j keeps
// max(0, R_j - held[j]) of the free slots; kUnlimitedSlots: no replica has a limit.
[[nodiscard]] inline bool may_take_slot(const AdmissionConfig& c, uint32_t tier, int64_t free_slots,
                                        std::span<const int64_t> held) {
  if (free_slots == kUnlimitedSlots) return true;
  int64_t kept = 0;
  for (uint32_t j = 0; j < tier && j < c.tiers.size(); ++j) {
    const int64_t h = j < held.size() ? held[j] : 0;
    kept += std::max<int64_t>(0, static_cast<int64_t>(c.tiers[j].reserved_slots) - h);
  }
  return free_slots > kept;
}

// Whether any tier reserves slots (the check can be skipped otherwise).
[[nodiscard]] inline bool any_reserved(const AdmissionConfig& c) {
  for (const auto& t : c.tiers) {
    if (t.reserved_slots > 0) return true;
  }
  return false;
}

}  // namespace tidal::admission
