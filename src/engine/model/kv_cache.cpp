#include "engine/model/kv_cache.h"

#include <algorithm>

#include "common/check.h"

namespace tidal::engine {

// Blocks come into existence when first taken (memory follows use, not capacity: a
// simulated fleet of a thousand mostly idle replicas stays small).
KvCache::KvCache(uint32_t num_blocks, bool prefix_caching) : total_(num_blocks), prefix_caching_(prefix_caching) {}

void KvCache::unlink(BlockId id) {
  Block& b = blocks_[id];
  if (b.prev != kNone) blocks_[b.prev].next = b.next; else head_ = b.next;
  if (b.next != kNone) blocks_[b.next].prev = b.prev; else tail_ = b.prev;
  b.prev = b.next = kNone;
  --lru_count_;
}

void KvCache::push_back(BlockId id) {
  Block& b = blocks_[id];
  b.prev = tail_;
  b.next = kNone;
  if (tail_ != kNone) blocks_[tail_].next = id; else head_ = id;
  tail_ = id;
  ++lru_count_;
}

uint32_t KvCache::acquire_prefix(std::span<const BlockHash> hashes, uint32_t max_blocks,
                                 std::vector<BlockId>& out) {
  if (!prefix_caching_) return 0;
  uint32_t hits = 0;
  for (BlockHash h : hashes) {
    if (hits >= max_blocks) break;
    auto it = by_hash_.find(h);
    if (it == by_hash_.end()) break;
    if (refs_[it->second]++ == 0) unlink(it->second);
    out.push_back(it->second);
    ++hits;
  }
  return hits;
}

uint32_t KvCache::peek_prefix(std::span<const BlockHash> hashes, uint32_t max_blocks, uint32_t& hits_in_free) const {
  hits_in_free = 0;
  if (!prefix_caching_) return 0;
  uint32_t hits = 0;
  for (BlockHash h : hashes) {
    if (hits >= max_blocks) break;
    auto it = by_hash_.find(h);
    if (it == by_hash_.end()) break;
    if (refs_[it->second] == 0) ++hits_in_free;
    ++hits;
  }
  return hits;
}

bool KvCache::allocate(uint32_t n, std::vector<BlockId>& out) {
  if (n > free_count()) return false;
  // Empty blocks first: released ones (last released first), then never used ones.
  const size_t from_empty = std::min<size_t>(n, empty_.size());
  out.insert(out.end(), empty_.rbegin(), empty_.rbegin() + static_cast<std::ptrdiff_t>(from_empty));
  empty_.resize(empty_.size() - from_empty);
  for (auto it = out.end() - static_cast<std::ptrdiff_t>(from_empty); it != out.end(); ++it) refs_[*it] = 1;
  const uint32_t from_fresh = std::min<uint32_t>(n - static_cast<uint32_t>(from_empty), unused());
  for (uint32_t i = 0; i < from_fresh; ++i) {
    out.push_back(fresh());
    blocks_.emplace_back();
    refs_.push_back(1);
  }
  for (size_t i = from_empty + from_fresh; i < n; ++i) {
    const BlockId id = evict_lru();
    refs_[id] = 1;
    out.push_back(id);
  }
  return true;
}

BlockId KvCache::evict_lru() {
  const BlockId id = head_;
  TIDAL_CHECK(id != kNone);
  unlink(id);
  Block& b = blocks_[id];
  auto it = by_hash_.find(b.hash);
  if (it != by_hash_.end() && it->second == id) by_hash_.erase(it);
  b.hashed = false;
  return id;
}

// Empty blocks first (never used, then released: both without content, so their order
// is not observable), then the least recently used content.
void KvCache::allocate_anonymous(uint32_t n) {
  const uint32_t from_unused = std::min(n, unused());
  anon_held_ += from_unused;
  n -= from_unused;
  const uint32_t from_empty = std::min<uint32_t>(n, static_cast<uint32_t>(empty_.size()));
  for (uint32_t i = 0; i < from_empty; ++i) {
    loaned_.push_back(empty_.back());
    empty_.pop_back();
  }
  for (uint32_t i = from_empty; i < n; ++i) loaned_.push_back(evict_lru());
  anon_held_ += n;
}

void KvCache::release_anonymous(uint32_t n) {
  TIDAL_CHECK(n <= anon_held_);
  anon_held_ -= n;
  // Loaned ids come back as empty blocks; the rest was never given an id.
  const uint32_t back = std::min<uint32_t>(n, static_cast<uint32_t>(loaned_.size()));
  for (uint32_t i = 0; i < back; ++i) {
    empty_.push_back(loaned_.back());
    loaned_.pop_back();
  }
}

uint32_t KvCache::acquire_prefix(std::span<const BlockHash> hashes, uint32_t max_blocks, KvBlocks& out) {
  return out.named_ ? acquire_prefix(hashes, max_blocks, out.ids_) : 0;
}

bool KvCache::allocate(uint32_t n, KvBlocks& out) {
  if (out.named_) return allocate(n, out.ids_);
  if (n > free_count()) return false;
  allocate_anonymous(n);
  out.count_ += n;
  return true;
}

void KvCache::release(KvBlocks& blocks) {
  if (blocks.named_) {
    release(blocks.ids_);
    blocks.ids_.clear();
  } else {
    release_anonymous(blocks.count_);
    blocks.count_ = 0;
  }
}

void KvCache::publish(BlockId id, BlockHash hash) {
  if (!prefix_caching_) return;
  Block& b = blocks_[id];
  if (b.hashed) return;
  // Another block may already hold this content (two sequences prefilled it at once);
  // keep the first, so lookups stay unambiguous.
  if (by_hash_.emplace(hash, id).second) {
    b.hashed = true;
    b.hash = hash;
  }
}

void KvCache::release(std::span<const BlockId> blocks) {
  // Release tail-first so a sequence's last blocks are reused or evicted first.
  for (auto it = blocks.rbegin(); it != blocks.rend(); ++it) {
    uint32_t& refs = refs_[*it];
    TIDAL_CHECK(refs > 0);
    if (--refs == 0) {
      // Unhashed blocks carry nothing reusable: first in line to be taken.
      if (blocks_[*it].hashed) push_back(*it); else empty_.push_back(*it);
    }
  }
}

}  // namespace tidal::engine
