#include "engine/model/kv_cache.h"

#include <gtest/gtest.h>

namespace tidal::engine {
namespace {

TEST(KvCacheTest, AllocatesUntilFullAndRefusesBeyond) {
  KvCache kv(4, true);
  std::vector<BlockId> a;
  EXPECT_TRUE(kv.allocate(3, a));
  EXPECT_EQ(kv.free_blocks(), 1u);
  EXPECT_FALSE(kv.allocate(2, a));
  EXPECT_EQ(a.size(), 3u);  // nothing taken on failure
  kv.release(a);
  EXPECT_EQ(kv.free_blocks(), 4u);
}

TEST(KvCacheTest, PublishedBlocksAreFoundAgainAfterRelease) {
  KvCache kv(8, true);
  std::vector<BlockId> a;
  ASSERT_TRUE(kv.allocate(3, a));
  kv.publish(a[0], 100);
  kv.publish(a[1], 200);
  kv.release(a);
  std::vector<BlockId> b;
  const std::vector<BlockHash> hashes = {100, 200, 300};
  EXPECT_EQ(kv.acquire_prefix(hashes, 10, b), 2u);
  EXPECT_EQ(b[0], a[0]);
  EXPECT_EQ(b[1], a[1]);
  EXPECT_EQ(kv.free_blocks(), 6u);
}

TEST(KvCacheTest, PrefixStopsAtTheFirstMissAndAtTheCap) {
  KvCache kv(8, true);
  std::vector<BlockId> a;
  ASSERT_TRUE(kv.allocate(3, a));
  kv.publish(a[0], 1);
  kv.publish(a[2], 3);
  std::vector<BlockId> b;
  const std::vector<BlockHash> hashes = {1, 2, 3};
  EXPECT_EQ(kv.acquire_prefix(hashes, 10, b), 1u);  // 2 is missing: 3 is not a prefix hit
  std::vector<BlockId> c;
  EXPECT_EQ(kv.acquire_prefix(hashes, 0, c), 0u);
}

TEST(KvCacheTest, EvictsUnhashedBlocksBeforeCachedOnes) {
  KvCache kv(4, true);
  std::vector<BlockId> a;
  ASSERT_TRUE(kv.allocate(4, a));
  kv.publish(a[0], 11);
  kv.release(a);  // a[1..3] carry nothing; they go first
  std::vector<BlockId> b;
  ASSERT_TRUE(kv.allocate(3, b));
  std::vector<BlockId> c;
  const std::vector<BlockHash> hashes = {11};
  EXPECT_EQ(kv.acquire_prefix(hashes, 1, c), 1u) << "cached block survived";
  std::vector<BlockId> d;
  kv.release(c);
  ASSERT_TRUE(kv.allocate(1, d));  // now the cached block is evicted
  std::vector<BlockId> e;
  EXPECT_EQ(kv.acquire_prefix(hashes, 1, e), 0u);
}

TEST(KvCacheTest, DisabledPrefixCachingNeverHits) {
  KvCache kv(4, false);
  std::vector<BlockId> a;
  ASSERT_TRUE(kv.allocate(1, a));
  kv.publish(a[0], 5);
  kv.release(a);
  std::vector<BlockId> b;
  const std::vector<BlockHash> hashes = {5};
  EXPECT_EQ(kv.acquire_prefix(hashes, 1, b), 0u);
}

}  // namespace
}  // namespace tidal::engine
