#include "admission/wait_queue.h"
#include "admission/reserve.h"

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <map>
#include <random>
#include <set>

#include "common/config/yaml_reader.h"

namespace tidal::admission {
namespace {

AdmissionConfig tiers(std::vector<TierConfig> t, bool fair = true) {
  AdmissionConfig c;
  c.tiers = std::move(t);
  c.fair = fair;
  return c;
}

const auto kAll = [](uint64_t) { return true; };

// Pops everything in order at `now`.
std::vector<uint64_t> drain(WaitQueue& q, double now) {
  std::vector<uint64_t> out;
  while (auto id = q.best(now, kAll)) {
    out.push_back(*id);
    q.remove(*id);
  }
  return out;
}

TEST(WaitQueueTest, OneTierIsArrivalOrder) {
  WaitQueue q(single_tier(100, 30), 100);
  for (uint64_t i = 1; i <= 5; ++i) q.push({.id = i, .tenant = 0, .enqueued_s = static_cast<double>(i)});
  EXPECT_EQ(drain(q, 10), (std::vector<uint64_t>{1, 2, 3, 4, 5}));
}

TEST(WaitQueueTest, HigherTierFirstRegardlessOfArrival) {
  WaitQueue q(tiers({{.name = "paid"}, {.name = "free"}}), 100);
  q.push({.id = 1, .tier = 1, .enqueued_s = 0});
  q.push({.id = 2, .tier = 1, .enqueued_s = 1});
  q.push({.id = 3, .tier = 0, .enqueued_s = 2});
  EXPECT_EQ(drain(q, 3), (std::vector<uint64_t>{3, 1, 2}));
}

TEST(WaitQueueTest, AgingLiftsAStarvedLowTier) {
  WaitQueue q(tiers({{.name = "paid"}, {.name = "free", .aging_s = 10}}), 100);
  q.push({.id = 1, .tier = 1, .enqueued_s = 0});
  q.push({.id = 2, .tier = 0, .enqueued_s = 5});
  // At 5 s the free waiter has not aged a full step: paid goes first.
  EXPECT_EQ(q.best(5, kAll), 2u);
  // At 10 s it has risen to rank 0 and ties with paid: ties go to the higher tier.
  EXPECT_EQ(q.best(10, kAll), 2u);
  q.remove(2);
  EXPECT_EQ(q.best(10, kAll), 1u);
  q.push({.id = 3, .tier = 0, .enqueued_s = 11});
  EXPECT_EQ(q.best(11, kAll), 3u);
  // A three-tier queue: the lowest tier aged two steps beats the middle tier.
  WaitQueue q3(tiers({{.name = "a"}, {.name = "b"}, {.name = "c", .aging_s = 10}}), 100);
  q3.push({.id = 1, .tier = 2, .enqueued_s = 0});
  q3.push({.id = 2, .tier = 1, .enqueued_s = 0});
  EXPECT_EQ(q3.best(15, kAll), 2u);  // c aged one step: rank 1 ties b, b's tier wins
  EXPECT_EQ(q3.best(20, kAll), 1u);  // c aged two steps: rank 0
}

TEST(WaitQueueTest, VtcServesTheTenantWithFewestTokensFirst) {
  WaitQueue q(tiers({{.name = "free"}}), 100);
  // Tenant 7 has been served 5000 tokens, tenant 8 none.
  q.charge(0, 7, 5000);
  q.push({.id = 1, .tenant = 7, .enqueued_s = 0});
  q.push({.id = 2, .tenant = 7, .enqueued_s = 1});
  q.push({.id = 3, .tenant = 8, .enqueued_s = 2});
  // Tenant 8 joined a backlog whose least counter is 5000: lifted to it, tie by tenant id → 7 first.
  EXPECT_EQ(q.best(3, kAll), 1u);
  q.remove(1);
  q.charge(0, 7, 100);
  EXPECT_EQ(q.best(3, kAll), 3u);  // 7 at 5100, 8 at 5000
}

TEST(WaitQueueTest, VtcIdleTenantBanksNoCredit) {
  WaitQueue q(tiers({{.name = "free"}}), 100);
  q.push({.id = 1, .tenant = 1, .enqueued_s = 0});
  q.charge(0, 1, 10'000);
  q.push({.id = 2, .tenant = 1, .enqueued_s = 1});
  q.remove(1);
  // Tenant 2 was idle (counter 0) and joins a backlog at 10,000: it does not jump 10,000 tokens ahead.
  q.push({.id = 3, .tenant = 2, .enqueued_s = 2});
  q.charge(0, 1, 1);  // tenant 1 now 10,001: tenant 2 (lifted to 10,000) goes next
  EXPECT_EQ(q.best(3, kAll), 3u);
  q.charge(0, 2, 50);  // tenant 2 at 10,050 > 10,001: back to tenant 1
  EXPECT_EQ(q.best(3, kAll), 2u);
}

TEST(WaitQueueTest, UnfairTierIgnoresTenants) {
  WaitQueue q(tiers({{.name = "free"}}, /*fair=*/false), 100);
  q.charge(0, 7, 5000);
  q.push({.id = 1, .tenant = 7, .enqueued_s = 0});
  q.push({.id = 2, .tenant = 8, .enqueued_s = 1});
  q.push({.id = 3, .tenant = 7, .enqueued_s = 2});
  EXPECT_EQ(drain(q, 3), (std::vector<uint64_t>{1, 2, 3}));
}

TEST(WaitQueueTest, EdfOrdersByTtftDeadline) {
  WaitQueue q(tiers({{.name = "free", .order = Order::kEdf, .ttft_target_ms = 5000}}, false), 100);
  q.push({.id = 1, .enqueued_s = 0});                            // deadline 5
  q.push({.id = 2, .enqueued_s = 1, .ttft_deadline_s = 1.5});   // x-tidal-ttft-ms: 500
  q.push({.id = 3, .enqueued_s = 2});                            // deadline 7
  EXPECT_EQ(drain(q, 3), (std::vector<uint64_t>{2, 1, 3}));
}

TEST(WaitQueueTest, BestSkipsIneligibleWaiters) {
  WaitQueue q(tiers({{.name = "paid"}, {.name = "free"}}), 100);
  q.push({.id = 1, .tier = 0, .enqueued_s = 0});
  q.push({.id = 2, .tier = 0, .enqueued_s = 1});
  q.push({.id = 3, .tier = 1, .enqueued_s = 2});
  EXPECT_EQ(q.best(3, [](uint64_t id) { return id != 1; }), 2u);
  EXPECT_EQ(q.best(3, [](uint64_t id) { return id == 3; }), 3u);
  EXPECT_EQ(q.best(3, [](uint64_t) { return false; }), std::nullopt);
}

TEST(WaitQueueTest, TierBoundRefusesNewcomer) {
  WaitQueue q(tiers({{.name = "paid", .max_queue = 1}, {.name = "free"}}), 100);
  EXPECT_EQ(q.push({.id = 1, .tier = 0}).refusal, Refusal::kNone);
  EXPECT_EQ(q.push({.id = 2, .tier = 0}).refusal, Refusal::kQueueFull);
  EXPECT_EQ(q.push({.id = 3, .tier = 1}).refusal, Refusal::kNone);
  EXPECT_EQ(q.size(), 2u);
}

TEST(WaitQueueTest, FullQueueEvictsNewestOfLowestTierBelow) {
  WaitQueue q(tiers({{.name = "critical"}, {.name = "paid"}, {.name = "free"}}), 3);
  q.push({.id = 1, .tier = 1, .enqueued_s = 0});
  q.push({.id = 2, .tier = 2, .enqueued_s = 1});
  q.push({.id = 3, .tier = 2, .enqueued_s = 2});
  auto r = q.push({.id = 4, .tier = 0, .enqueued_s = 3});
  EXPECT_EQ(r.refusal, Refusal::kNone);
  EXPECT_EQ(r.evicted, 3u);  // newest free
  EXPECT_FALSE(q.contains(3));
  // A free newcomer finds nothing below it: refused.
  EXPECT_EQ(q.push({.id = 5, .tier = 2, .enqueued_s = 4}).refusal, Refusal::kQueueFull);
  // A paid newcomer evicts the remaining free waiter.
  EXPECT_EQ(q.push({.id = 6, .tier = 1, .enqueued_s = 5}).evicted, 2u);
  EXPECT_EQ(q.size(), 3u);
}

TEST(WaitQueueTest, JainIndexOfServedTokens) {
  WaitQueue q(tiers({{.name = "free"}}), 10);
  EXPECT_DOUBLE_EQ(q.jain_index(), 1.0);
  q.charge(0, 1, 100);
  q.charge(0, 2, 100);
  EXPECT_DOUBLE_EQ(q.jain_index(), 1.0);
  q.charge(0, 3, 0.0);
  q.charge(0, 4, 0.0);
  EXPECT_DOUBLE_EQ(q.jain_index(), 0.5);  // (200)^2 / (4 * 20000)
}

TEST(WaitQueueTest, DeadlineIsTheTiersMaxWait) {
  WaitQueue q(tiers({{.name = "paid", .max_queue_wait_s = 5}, {.name = "free", .max_queue_wait_s = 30}}), 10);
  EXPECT_DOUBLE_EQ(q.deadline_s(0, 100), 105);
  EXPECT_DOUBLE_EQ(q.deadline_s(1, 100), 130);
}

// Randomized: whatever the pushes and removals, best() returns a queued waiter, and the
// order of a drain never puts a lower (unaged) tier before a higher one.
TEST(WaitQueueTest, RandomOperationsKeepTheInvariants) {
  std::mt19937_64 rng(42);
  for (int round = 0; round < 50; ++round) {
    WaitQueue q(tiers({{.name = "a", .max_queue = 20}, {.name = "b", .max_queue = 20}, {.name = "c", .order = Order::kEdf}},
                      round % 2 == 0),
                30);
    std::set<uint64_t> present;
    std::map<uint64_t, uint32_t> tier_of;
    uint64_t next = 1;
    for (int op = 0; op < 300; ++op) {
      if (rng() % 3 != 0) {
        Waiter w{.id = next++, .tier = static_cast<uint32_t>(rng() % 3), .tenant = rng() % 4,
                 .enqueued_s = static_cast<double>(op)};
        tier_of[w.id] = w.tier;
        auto r = q.push(w);
        if (r.evicted) {
          ASSERT_TRUE(present.erase(*r.evicted));
        }
        if (r.refusal == Refusal::kNone) present.insert(w.id);
      } else if (auto id = q.best(op, kAll)) {
        ASSERT_TRUE(present.count(*id));
        q.charge(0, rng() % 4, static_cast<double>(rng() % 1000));
        q.remove(*id);
        present.erase(*id);
      }
      ASSERT_EQ(q.size(), present.size());
      ASSERT_LE(q.size(), 30u);
    }
    uint32_t last_tier = 0;
    while (auto id = q.best(0, kAll)) {  // at t=0 nothing has aged
      ASSERT_TRUE(present.erase(*id));
      q.remove(*id);
      ASSERT_GE(tier_of[*id], last_tier);
      last_tier = tier_of[*id];
    }
    ASSERT_TRUE(present.empty());
  }
}

TEST(AdmissionConfigTest, ReadsTiersAndRefusesBadKeys) {
  AdmissionConfig c;
  read_admission(YAML::Load("{default_tier: free, fairness: none, tiers: [{name: paid, max_queue_wait_s: 5}, "
                            "{name: free, aging_s: 10, order: edf, ttft_target_ms: 2000}]}"),
                 "admission", c);
  ASSERT_EQ(c.tiers.size(), 2u);
  EXPECT_FALSE(c.fair);
  EXPECT_EQ(c.default_index(), 1u);
  EXPECT_EQ(c.tiers[1].order, Order::kEdf);
  EXPECT_TRUE(validate(c, "admission").has_value());
  try {
    read_admission(YAML::Load("{tiers: [{name: a, oder: edf}]}"), "admission", c);
    FAIL();
  } catch (const config::KeyError& e) {
    EXPECT_EQ(e.key, "admission.tiers[0].oder");
  }
  AdmissionConfig dup;
  dup.tiers = {{.name = "a"}, {.name = "a"}};
  EXPECT_EQ(validate(dup, "admission").error().param, "admission.tiers[1].name");
  AdmissionConfig nodefault;
  nodefault.tiers = {{.name = "a"}};
  nodefault.default_tier = "b";
  EXPECT_EQ(validate(nodefault, "admission").error().param, "admission.default_tier");
}


TEST(ReserveTest, HigherTiersKeepTheirUnusedReservation) {
  AdmissionConfig c;
  c.tiers = {{.name = "critical", .reserved_slots = 2}, {.name = "paid", .reserved_slots = 3}, {.name = "free"}};
  const std::vector<int64_t> none{0, 0, 0};
  // free must leave 2 + 3 slots free.
  EXPECT_FALSE(may_take_slot(c, 2, 5, none));
  EXPECT_TRUE(may_take_slot(c, 2, 6, none));
  // paid leaves critical's 2; critical takes anything.
  EXPECT_FALSE(may_take_slot(c, 1, 2, none));
  EXPECT_TRUE(may_take_slot(c, 1, 3, none));
  EXPECT_TRUE(may_take_slot(c, 0, 1, none));
  // Slots a tier holds count against its reservation.
  EXPECT_FALSE(may_take_slot(c, 2, 4, std::vector<int64_t>{1, 0, 0}));  // critical keeps 1, paid 3
  EXPECT_TRUE(may_take_slot(c, 2, 5, std::vector<int64_t>{1, 0, 0}));
  EXPECT_TRUE(may_take_slot(c, 2, 1, std::vector<int64_t>{5, 5, 0}));
  EXPECT_TRUE(may_take_slot(c, 2, kUnlimitedSlots, none));
  EXPECT_FALSE(any_reserved(single_tier(10, 1)));
  EXPECT_TRUE(any_reserved(c));
}

}  // namespace
}  // namespace tidal::admission
