#include "routing/prefix_index.h"

#include <algorithm>

namespace tidal::routing {

PrefixIndex::PrefixIndex(uint32_t capacity_blocks)
    : capacity_(std::max<uint32_t>(1, capacity_blocks)),
      shards_(std::make_unique<Shard[]>(kShards)),
      clocks_(std::make_unique<std::atomic<uint64_t>[]>(kMaxReplicas)) {
  // Clocks start high so that a stamp (clock minus a position) is never 0, the empty slot.
  for (ReplicaId r = 0; r < kMaxReplicas; ++r) clocks_[r].store(kClockStart, std::memory_order_relaxed);
}

bool PrefixIndex::alive(const Holder& h) const { return h.stamp != 0 && clock(h.replica) - h.stamp < capacity_; }

// Held: `replica` is a live holder, or the block is popular (every holder slot is live:
// a prefix that many replicas were sent, such as a system prompt, is assumed cached).
bool PrefixIndex::holds(ReplicaId replica, uint64_t block) const {
  const Shard& s = shard(block);
  std::lock_guard lock(s.mu);
  auto it = s.map.find(block);
  if (it == s.map.end()) return false;
  size_t live = 0;
  for (const Holder& h : it->second.holders) {
    if (!alive(h)) continue;
    if (h.replica == replica) return true;
    ++live;
  }
  return live == kHolders;
}

bool PrefixIndex::any_holder(uint64_t block) const {
  const Shard& s = shard(block);
  std::lock_guard lock(s.mu);
  auto it = s.map.find(block);
  if (it == s.map.end()) return false;
  return std::any_of(it->second.holders.begin(), it->second.holders.end(), [&](const Holder& h) { return alive(h); });
}

void PrefixIndex::holders_of(uint64_t block, std::array<ReplicaId, kMaxCandidates>& out, size_t& n) const {
  const Shard& s = shard(block);
  std::lock_guard lock(s.mu);
  auto it = s.map.find(block);
  if (it == s.map.end()) return;
  for (const Holder& h : it->second.holders) {
    if (n == kMaxCandidates || !alive(h)) continue;
    if (std::find(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(n), h.replica) != out.begin() + static_cast<std::ptrdiff_t>(n)) continue;
    out[n++] = h.replica;
  }
}

uint32_t PrefixIndex::match(ReplicaId replica, std::span<const uint64_t> prefix) const {
  // Largest k with blocks [0, k) held: held is prefix-closed, so binary search.
  size_t lo = 0, hi = prefix.size();
  while (lo < hi) {
    const size_t mid = lo + (hi - lo + 1) / 2;
    if (holds(replica, prefix[mid - 1])) lo = mid; else hi = mid - 1;
  }
  return static_cast<uint32_t>(lo);
}

size_t PrefixIndex::candidates(std::span<const uint64_t> prefix, std::array<ReplicaId, kMaxCandidates>& out) const {
  size_t n = 0;
  if (prefix.empty()) return 0;
  // The deepest block anyone holds (also prefix-closed), then its holders and the first block's.
  size_t lo = 0, hi = prefix.size();
  while (lo < hi) {
    const size_t mid = lo + (hi - lo + 1) / 2;
    if (any_holder(prefix[mid - 1])) lo = mid; else hi = mid - 1;
  }
  if (lo == 0) return 0;
  holders_of(prefix[lo - 1], out, n);
  if (lo > 1) holders_of(prefix[0], out, n);
  return n;
}

PrefixMatches PrefixIndex::matches(std::span<const uint64_t> prefix) const {
  PrefixMatches m;
  if (prefix.empty()) return m;
  m.n = candidates(prefix, m.ids);
  for (size_t i = 0; i < m.n; ++i) m.blocks[i] = match(m.ids[i], prefix);
  m.popular = match(kMaxReplicas, prefix);
  return m;
}

uint32_t PrefixIndex::record(ReplicaId replica, std::span<const uint64_t> prefix) {
  if (replica >= kMaxReplicas || prefix.empty()) return 0;
  const uint32_t held = match(replica, prefix);
  const uint64_t fresh = prefix.size() - held;
  const uint64_t after = clocks_[replica].fetch_add(fresh, std::memory_order_relaxed) + fresh;
  for (size_t i = 0; i < prefix.size(); ++i) {
    const uint64_t block = prefix[i];
    const uint64_t stamp = after - std::min<uint64_t>(i, after - 1);
    Shard& s = shard(block);
    std::lock_guard lock(s.mu);
    Entry& e = s.map[block];
    Holder* slot = nullptr;
    for (Holder& h : e.holders) {
      if (h.stamp != 0 && h.replica == replica) {
        slot = &h;
        break;
      }
    }
    if (!slot) {
      for (Holder& h : e.holders) {
        if (!alive(h)) {
          slot = &h;
          break;
        }
      }
    }
    if (!slot) {
      slot = &*std::min_element(e.holders.begin(), e.holders.end(),
                                [](const Holder& a, const Holder& b) { return a.seq < b.seq; });
    }
    *slot = Holder{replica, seq_.fetch_add(1, std::memory_order_relaxed), stamp};
    if (++s.writes_since_sweep > std::max<size_t>(4096, s.map.size())) sweep(s);
  }
  return held;
}

// Drops expired holders and empty blocks; amortised over as many writes as entries.
void PrefixIndex::sweep(Shard& s) {
  s.writes_since_sweep = 0;
  boost::unordered::erase_if(s.map, [&](auto& kv) {
    bool any = false;
    for (Holder& h : kv.second.holders) {
      if (!alive(h)) h = Holder{};
      any = any || h.stamp != 0;
    }
    return !any;
  });
}

void PrefixIndex::forget(ReplicaId replica) {
  if (replica < kMaxReplicas) clocks_[replica].fetch_add(capacity_, std::memory_order_relaxed);
}

size_t PrefixIndex::entries() const {
  size_t n = 0;
  for (size_t i = 0; i < kShards; ++i) {
    std::lock_guard lock(shards_[i].mu);
    for (const auto& kv : shards_[i].map) {
      n += std::any_of(kv.second.holders.begin(), kv.second.holders.end(), [&](const Holder& h) { return alive(h); });
    }
  }
  return n;
}

}  // namespace tidal::routing
