// Which replica probably holds which prompt prefix in its KV cache, shared by every
// event loop of a pool (sharded: a lookup locks one of 64 shards for a hash probe).
//
// Model of each replica's cache: LRU over 16-token blocks with `capacity` blocks, the
// tail of a request evicted before its head (as vLLM frees a request's blocks in
// reverse order). A replica has a clock that advances by the number of blocks new to
// it each time a request is sent there; block i of that request is stamped with the
// clock after it minus i (i blocks of the request are more recent than it). A block is
// held while clock - stamp < capacity: an LRU cache evicts one block per new block
// once full. Chained hashes name whole prefixes, so a request touching block i touches
// every block before it: stamps never grow along a prefix and "held" is prefix-closed,
// which lets a match binary-search.
// Each block remembers its last kHolders replicas (a system prompt on every replica is
// remembered on the most recent four). Pure: no I/O, no clock.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>

#include <boost/unordered/unordered_flat_map.hpp>

#include "routing/replica_view.h"

namespace tidal::routing {

class PrefixIndex;

// How much of one prompt each replica probably holds, looked up once per pick: only the
// index's candidates can hold more than the popular blocks every replica has.
struct PrefixMatches {
  static constexpr size_t kMax = 8;
  std::array<ReplicaId, kMax> ids{};
  std::array<uint32_t, kMax> blocks{};
  size_t n = 0;
  uint32_t popular = 0;
  // Leading blocks `replica` holds.
  [[nodiscard]] uint32_t held(ReplicaId replica) const {
    uint32_t h = popular;
    for (size_t i = 0; i < n; ++i) {
      if (ids[i] == replica && blocks[i] > h) h = blocks[i];
    }
    return h;
  }
};

class PrefixIndex {
 public:
  static constexpr size_t kHolders = 4;
  static constexpr size_t kMaxCandidates = 2 * kHolders;
  static_assert(kMaxCandidates == PrefixMatches::kMax);
  static constexpr ReplicaId kMaxReplicas = 1u << 16;  // ids past this are never matched

  explicit PrefixIndex(uint32_t capacity_blocks);

  // Leading blocks of `prefix` that `replica` holds (for an id >= kMaxReplicas: the
  // popular blocks, which every replica is assumed to hold).
  [[nodiscard]] uint32_t match(ReplicaId replica, std::span<const uint64_t> prefix) const;
  // Replicas likely to hold the most of `prefix` (holders of its deepest held block and
  // of its first block), at most kMaxCandidates; returns how many were written.
  size_t candidates(std::span<const uint64_t> prefix, std::array<ReplicaId, kMaxCandidates>& out) const;
  // The candidates' matches and the popular blocks for `prefix` (empty: nothing held).
  [[nodiscard]] PrefixMatches matches(std::span<const uint64_t> prefix) const;
  // `replica` was sent `prefix`: returns the blocks it already held (the predicted cache
  // hit), then stamps them all.
  uint32_t record(ReplicaId replica, std::span<const uint64_t> prefix);
  // The replica is gone: everything it held expires.
  void forget(ReplicaId replica);

  [[nodiscard]] uint32_t capacity() const { return capacity_; }
  [[nodiscard]] size_t entries() const;  // blocks with at least one holder (tests, metrics)

 private:
  struct Holder {
    ReplicaId replica = 0;
    uint32_t seq = 0;    // index-wide insertion order, to replace the oldest holder
    uint64_t stamp = 0;  // the replica's clock when it last got this block; 0 = empty slot
  };
  struct Entry {
    std::array<Holder, kHolders> holders{};
  };
  struct alignas(64) Shard {
    mutable std::mutex mu;
    boost::unordered_flat_map<uint64_t, Entry> map;
    size_t writes_since_sweep = 0;
  };
  static constexpr size_t kShards = 64;
  static constexpr uint64_t kClockStart = uint64_t{1} << 40;

  [[nodiscard]] bool alive(const Holder& h) const;
  [[nodiscard]] bool holds(ReplicaId replica, uint64_t block) const;
  // Alive holders of `block` appended to out (deduplicated), up to kMaxCandidates.
  void holders_of(uint64_t block, std::array<ReplicaId, kMaxCandidates>& out, size_t& n) const;
  [[nodiscard]] bool any_holder(uint64_t block) const;
  void sweep(Shard& s);
  Shard& shard(uint64_t block) const { return shards_[block % kShards]; }
  uint64_t clock(ReplicaId r) const { return r < kMaxReplicas ? clocks_[r].load(std::memory_order_relaxed) : 0; }

  uint32_t capacity_;
  std::unique_ptr<Shard[]> shards_;
  std::unique_ptr<std::atomic<uint64_t>[]> clocks_;
  std::atomic<uint32_t> seq_{0};
};

}  // namespace tidal::routing
