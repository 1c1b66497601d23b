#include "engine/model/kv_cache.h"

#include "common/check.h"

namespace tidal::engine {

KvCache::KvCache(uint32_t num_blocks, bool prefix_caching)
    : blocks_(num_blocks), prefix_caching_(prefix_caching) {
  by_hash_.reserve(num_blocks);
  empty_.reserve(num_blocks);
  for (BlockId id = num_blocks; id-- > 0;) empty_.push_back(id);  // block 0 is taken first
}

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
    Block& b = blocks_[it->second];
    if (b.refs == 0) unlink(it->second);
    ++b.refs;
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
    if (blocks_[it->second].refs == 0) ++hits_in_free;
    ++hits;
  }
  return hits;
}

bool KvCache::allocate(uint32_t n, std::vector<BlockId>& out) {
  if (n > free_count()) return false;
  for (uint32_t i = 0; i < n; ++i) {
    if (!empty_.empty()) {
      const BlockId id = empty_.back();
      empty_.pop_back();
      blocks_[id].refs = 1;
      out.push_back(id);
      continue;
    }
    // Evict the least recently used content.
    const BlockId id = head_;
    TIDAL_CHECK(id != kNone);
    unlink(id);
    Block& b = blocks_[id];
    auto it = by_hash_.find(b.hash);
    if (it != by_hash_.end() && it->second == id) by_hash_.erase(it);
    b.hashed = false;
    b.refs = 1;
    out.push_back(id);
  }
  return true;
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
    Block& b = blocks_[*it];
    TIDAL_CHECK(b.refs > 0);
    if (--b.refs == 0) {
      // Unhashed blocks carry nothing reusable: first in line to be taken.
      if (b.hashed) push_back(*it); else empty_.push_back(*it);
    }
  }
}

}  // namespace tidal::engine
