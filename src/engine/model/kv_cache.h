// KV cache block manager with a prefix cache, after vLLM: fixed-size blocks of 16
// tokens; full prompt blocks are published under a chained hash; blocks whose last
// user left keep their content in an LRU free list and are reused on a hash hit or
// evicted (oldest first) when a fresh block is needed. Free blocks without content go
// first, last released first, then blocks never used (lowest id first; they take
// memory only once used): a stack apart from the LRU list, in the same order as one
// list with them at its head, at a vector push or pop per block.
#pragma once

#include <cstdint>
#include <span>
#include <unordered_map>
#include <vector>

namespace tidal::engine {

using BlockId = uint32_t;
using BlockHash = uint64_t;

class KvCache {
 public:
  KvCache(uint32_t num_blocks, bool prefix_caching);

  // Pins the longest cached prefix of `hashes` (at most `max_blocks`) and appends the
  // blocks to `out`. Returns the number of blocks hit.
  uint32_t acquire_prefix(std::span<const BlockHash> hashes, uint32_t max_blocks, std::vector<BlockId>& out);
  // Dry run of acquire_prefix: the blocks it would hit, and how many of them sit in the
  // free list (pinning those takes them out of it).
  [[nodiscard]] uint32_t peek_prefix(std::span<const BlockHash> hashes, uint32_t max_blocks,
                                     uint32_t& hits_in_free) const;
  // Appends `n` fresh blocks to `out`, evicting cached content LRU-first. False, with
  // nothing taken, if fewer than `n` blocks are free.
  bool allocate(uint32_t n, std::vector<BlockId>& out);
  // Records that block `id` now holds the tokens hashed to `hash`.
  void publish(BlockId id, BlockHash hash);
  // Unpins blocks; the last ones in `blocks` are evicted first.
  void release(std::span<const BlockId> blocks);

  [[nodiscard]] uint32_t free_blocks() const { return free_count(); }
  [[nodiscard]] uint32_t total_blocks() const { return total_; }
  [[nodiscard]] double usage() const {
    return total_ == 0 ? 0.0 : 1.0 - static_cast<double>(free_count()) / static_cast<double>(total_);
  }

 private:
  static constexpr uint32_t kNone = UINT32_MAX;
  struct Block {
    bool hashed = false;
    BlockHash hash = 0;
    uint32_t prev = kNone, next = kNone;  // LRU-list links of a free hashed block (head evicted first)
  };
  [[nodiscard]] uint32_t fresh() const { return static_cast<uint32_t>(blocks_.size()); }  // next never used id
  [[nodiscard]] uint32_t free_count() const {
    return static_cast<uint32_t>(empty_.size()) + (total_ - fresh()) + lru_count_;
  }
  void unlink(BlockId id);
  void push_back(BlockId id);

  uint32_t total_;
  std::vector<Block> blocks_;  // the blocks used so far (ids 0 .. fresh() - 1)
  std::vector<uint32_t> refs_;  // users of each block (apart: the hot field, dense in cache)
  std::unordered_map<BlockHash, BlockId> by_hash_;
  std::vector<BlockId> empty_;  // released blocks without content; back() is taken first
  uint32_t head_ = kNone, tail_ = kNone;  // free blocks with content, LRU order
  uint32_t lru_count_ = 0;
  bool prefix_caching_;
};

}  // namespace tidal::engine
