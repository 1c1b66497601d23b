#include "engine/model/kv_cache.h"

#include <gtest/gtest.h>

#include <vector>

#include "common/rng.h"

namespace tidal::engine {
namespace {

TEST(KvCacheTest, AllocatesUntilFullAndRefusesBeyond) {
  KvCache kv(4, true);
  KvBlocks a;
  EXPECT_TRUE(kv.allocate(3, a));
  EXPECT_EQ(kv.free_blocks(), 1u);
  EXPECT_FALSE(kv.allocate(2, a));
  EXPECT_EQ(a.size(), 3u);  // nothing taken on failure
  kv.release(a);
  EXPECT_EQ(kv.free_blocks(), 4u);
}

TEST(KvCacheTest, PublishedBlocksAreFoundAgainAfterRelease) {
  KvCache kv(8, true);
  KvBlocks a;
  ASSERT_TRUE(kv.allocate(3, a));
  kv.publish(a.ids()[0], 100);
  kv.publish(a.ids()[1], 200);
  const std::vector<BlockId> held(a.ids().begin(), a.ids().end());
  kv.release(a);
  KvBlocks b;
  const std::vector<BlockHash> hashes = {100, 200, 300};
  EXPECT_EQ(kv.acquire_prefix(hashes, 10, b), 2u);
  EXPECT_EQ(b.ids()[0], held[0]);
  EXPECT_EQ(b.ids()[1], held[1]);
  EXPECT_EQ(kv.free_blocks(), 6u);
}

TEST(KvCacheTest, PrefixStopsAtTheFirstMissAndAtTheCap) {
  KvCache kv(8, true);
  KvBlocks a;
  ASSERT_TRUE(kv.allocate(3, a));
  kv.publish(a.ids()[0], 1);
  kv.publish(a.ids()[2], 3);
  KvBlocks b;
  const std::vector<BlockHash> hashes = {1, 2, 3};
  EXPECT_EQ(kv.acquire_prefix(hashes, 10, b), 1u);  // 2 is missing: 3 is not a prefix hit
  KvBlocks c;
  EXPECT_EQ(kv.acquire_prefix(hashes, 0, c), 0u);
}

TEST(KvCacheTest, EvictsUnhashedBlocksBeforeCachedOnes) {
  KvCache kv(4, true);
  KvBlocks a;
  ASSERT_TRUE(kv.allocate(4, a));
  kv.publish(a.ids()[0], 11);
  kv.release(a);  // a[1..3] carry nothing; they go first
  KvBlocks b;
  ASSERT_TRUE(kv.allocate(3, b));
  KvBlocks c;
  const std::vector<BlockHash> hashes = {11};
  EXPECT_EQ(kv.acquire_prefix(hashes, 1, c), 1u) << "cached block survived";
  KvBlocks d;
  kv.release(c);
  ASSERT_TRUE(kv.allocate(1, d));  // now the cached block is evicted
  KvBlocks e;
  EXPECT_EQ(kv.acquire_prefix(hashes, 1, e), 0u);
}

TEST(KvCacheTest, DisabledPrefixCachingNeverHits) {
  KvCache kv(4, false);
  KvBlocks a;
  ASSERT_TRUE(kv.allocate(1, a));
  kv.publish(a.ids()[0], 5);
  kv.release(a);
  KvBlocks b;
  const std::vector<BlockHash> hashes = {5};
  EXPECT_EQ(kv.acquire_prefix(hashes, 1, b), 0u);
}


// Sequences without prefix hashes hold their blocks by count only. On random traffic
// (prompts with and without hashes, shared prefixes, releases in any order, a cache often
// full) a cache where those sequences are anonymous takes the same decisions as one where
// every sequence holds ids: the same allocations succeed, the same prefixes hit, the
// same number of blocks stays free.
TEST(KvCacheTest, AnonymousHoldersDecideExactlyAsNamedOnes) {
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    Rng rng(seed);
    const uint32_t capacity = 8 + static_cast<uint32_t>(rng.below(120));
    KvCache named(capacity, true), mixed(capacity, true);
    struct Holder {
      std::vector<BlockHash> hashes;
      KvBlocks in_named, in_mixed;
    };
    std::vector<Holder> live;
    for (int op = 0; op < 3000; ++op) {
      if (live.empty() || rng.uniform() < 0.55) {
        Holder h;
        const bool hashed = rng.uniform() < 0.5;
        const uint32_t blocks = 1 + static_cast<uint32_t>(rng.below(capacity / 2 + 1));
        if (hashed) {
          const uint64_t family = rng.below(4);  // shared prefixes across holders
          for (uint32_t i = 0; i < blocks; ++i) h.hashes.push_back(family * 1000 + i + (i > 2 ? rng.below(3) * 100 : 0));
        }
        h.in_mixed = KvBlocks(hashed);
        const uint32_t hit_n = named.acquire_prefix(h.hashes, blocks, h.in_named);
        const uint32_t hit_m = mixed.acquire_prefix(h.hashes, blocks, h.in_mixed);
        ASSERT_EQ(hit_n, hit_m) << "seed " << seed << " op " << op;
        const bool ok_n = named.allocate(blocks - hit_n, h.in_named);
        const bool ok_m = mixed.allocate(blocks - hit_m, h.in_mixed);
        ASSERT_EQ(ok_n, ok_m) << "seed " << seed << " op " << op;
        if (!ok_n) {
          named.release(h.in_named);
          mixed.release(h.in_mixed);
        } else {
          const auto ids_n = h.in_named.ids();
          for (size_t i = 0; i < h.hashes.size(); ++i) named.publish(ids_n[i], h.hashes[i]);
          const auto ids_m = h.in_mixed.ids();
          for (size_t i = 0; i < h.hashes.size(); ++i) mixed.publish(ids_m[i], h.hashes[i]);
          live.push_back(std::move(h));
        }
      } else {
        const size_t i = rng.below(live.size());
        named.release(live[i].in_named);
        mixed.release(live[i].in_mixed);
        live.erase(live.begin() + static_cast<std::ptrdiff_t>(i));
      }
      ASSERT_EQ(named.free_blocks(), mixed.free_blocks()) << "seed " << seed << " op " << op;
    }
    for (auto& h : live) {
      named.release(h.in_named);
      mixed.release(h.in_mixed);
    }
    EXPECT_EQ(mixed.free_blocks(), capacity);
  }
}

}  // namespace
}  // namespace tidal::engine
