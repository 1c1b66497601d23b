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

// The blocks one sequence holds. Their ids when its content can be published (a prompt
// with prefix hashes, prefix caching on); otherwise only their number: nothing ever looks
// such a block up again, so it needs no id and allocating or releasing n of them is O(1).
class KvBlocks {
 public:
  KvBlocks() = default;
  explicit KvBlocks(bool named) : named_(named) {}
  [[nodiscard]] uint32_t size() const { return named_ ? static_cast<uint32_t>(ids_.size()) : count_; }
  [[nodiscard]] bool empty() const { return size() == 0; }
  [[nodiscard]] std::span<const BlockId> ids() const { return ids_; }  // empty unless named
  void reserve(uint32_t n) {
    if (named_) ids_.reserve(n);
  }

 private:
  friend class KvCache;
  bool named_ = true;
  uint32_t count_ = 0;
  std::vector<BlockId> ids_;
};

class KvCache {
 public:
  KvCache(uint32_t num_blocks, bool prefix_caching);

  // Pins the longest cached prefix of `hashes` (at most `max_blocks`) and appends the
  // blocks to `out` (nothing for anonymous blocks). Returns the number of blocks hit.
  uint32_t acquire_prefix(std::span<const BlockHash> hashes, uint32_t max_blocks, KvBlocks& out);
  // Dry run of acquire_prefix: the blocks it would hit, and how many of them sit in the
  // free list (pinning those takes them out of it).
  [[nodiscard]] uint32_t peek_prefix(std::span<const BlockHash> hashes, uint32_t max_blocks,
                                     uint32_t& hits_in_free) const;
  // Appends `n` fresh blocks to `out`, evicting cached content LRU-first. False, with
  // nothing taken, if fewer than `n` blocks are free. Anonymous blocks are taken in the
  // same order as named ones, so which content survives does not depend on which
  // sequences hold ids.
  bool allocate(uint32_t n, KvBlocks& out);
  // Records that block `id` now holds the tokens hashed to `hash`.
  void publish(BlockId id, BlockHash hash);
  // Unpins a sequence's blocks and empties `blocks`; its last blocks are evicted first.
  void release(KvBlocks& blocks);
  [[nodiscard]] bool prefix_caching() const { return prefix_caching_; }

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
  // Blocks held anonymously that have no id (the rest of them hold a loaned id).
  [[nodiscard]] uint32_t idless() const { return anon_held_ - static_cast<uint32_t>(loaned_.size()); }
  // Blocks never used and not held anonymously.
  [[nodiscard]] uint32_t unused() const { return total_ - fresh() - idless(); }
  [[nodiscard]] uint32_t free_count() const { return static_cast<uint32_t>(empty_.size()) + unused() + lru_count_; }
  uint32_t acquire_prefix(std::span<const BlockHash> hashes, uint32_t max_blocks, std::vector<BlockId>& out);
  bool allocate(uint32_t n, std::vector<BlockId>& out);
  void release(std::span<const BlockId> blocks);
  void allocate_anonymous(uint32_t n);
  void release_anonymous(uint32_t n);
  BlockId evict_lru();
  void unlink(BlockId id);
  void push_back(BlockId id);

  uint32_t total_;
  std::vector<Block> blocks_;  // the blocks used so far (ids 0 .. fresh() - 1)
  std::vector<uint32_t> refs_;  // users of each block (apart: the hot field, dense in cache)
  std::unordered_map<BlockHash, BlockId> by_hash_;
  std::vector<BlockId> empty_;  // released blocks without content; back() is taken first
  uint32_t head_ = kNone, tail_ = kNone;  // free blocks with content, LRU order
  uint32_t lru_count_ = 0;
  uint32_t anon_held_ = 0;        // blocks held by sequences without ids
  std::vector<BlockId> loaned_;    // ids of blocks anonymous sequences took from the free ones
  bool prefix_caching_;
};

}  // namespace tidal::engine
