#include "routing/prefix_index.h"

#include <gtest/gtest.h>

#include "routing/views.h"

#include <map>
#include <vector>

#include "common/tokens.h"
#include "routing/config.h"
#include "routing/policies/prefix_affinity.h"
#include "routing/policy.h"
#include "routing/replica_stats.h"

namespace tidal::routing {
namespace {

std::vector<uint64_t> chain(uint64_t seed, size_t n) {
  std::vector<uint64_t> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = seed * 1000003 + i;  // distinct per conversation
  return v;
}

TEST(PrefixIndexTest, RecordsAndMatchesLeadingBlocks) {
  PrefixIndex idx(1000);
  const auto a = chain(1, 10);
  EXPECT_EQ(idx.record(3, a), 0u);  // nothing held before
  EXPECT_EQ(idx.match(3, a), 10u);
  EXPECT_EQ(idx.match(4, a), 0u);
  // A longer prompt sharing the first 10 blocks: 10 predicted hits.
  auto longer = a;
  longer.push_back(99);
  longer.push_back(98);
  EXPECT_EQ(idx.match(3, longer), 10u);
  EXPECT_EQ(idx.record(3, longer), 10u);
  EXPECT_EQ(idx.match(3, longer), 12u);
  std::array<ReplicaId, PrefixIndex::kMaxCandidates> ids{};
  ASSERT_EQ(idx.candidates(longer, ids), 1u);
  EXPECT_EQ(ids[0], 3u);
}

TEST(PrefixIndexTest, ExpiresLeastRecentlyUsedBlocksOnceFull) {
  PrefixIndex idx(100);
  const auto old_conv = chain(1, 40);
  idx.record(0, old_conv);
  idx.record(0, chain(2, 40));
  EXPECT_EQ(idx.match(0, old_conv), 40u);  // 80 of 100 blocks used
  idx.record(0, chain(3, 40));             // 120 blocks sent: the first conversation's last 20 are evicted
  EXPECT_EQ(idx.match(0, old_conv), 20u);
  idx.record(0, chain(4, 40));
  EXPECT_EQ(idx.match(0, old_conv), 0u);
  EXPECT_EQ(idx.match(0, chain(2, 40)), 20u);
  EXPECT_EQ(idx.match(0, chain(4, 40)), 40u);
}

TEST(PrefixIndexTest, TouchingABlockKeepsItWithoutUsingSpace) {
  PrefixIndex idx(100);
  const auto system = chain(7, 30);
  idx.record(0, system);
  for (uint64_t c = 10; c < 40; ++c) {
    // Conversations sharing the 30-block system prompt, 5 new blocks each.
    auto conv = system;
    for (uint64_t i = 0; i < 5; ++i) conv.push_back(c * 7919 + i);
    EXPECT_EQ(idx.record(0, conv), 30u);
  }
  EXPECT_EQ(idx.match(0, system), 30u);  // re-sent every time: still held
}

TEST(PrefixIndexTest, ForgetDropsEverythingAReplicaHeld) {
  PrefixIndex idx(100);
  const auto a = chain(1, 10);
  idx.record(5, a);
  idx.forget(5);
  EXPECT_EQ(idx.match(5, a), 0u);
  std::array<ReplicaId, PrefixIndex::kMaxCandidates> ids{};
  EXPECT_EQ(idx.candidates(a, ids), 0u);
}

TEST(PrefixIndexTest, PopularBlocksCountAsHeldEverywhere) {
  PrefixIndex idx(1000);
  const auto system = chain(9, 8);
  for (ReplicaId r = 0; r < PrefixIndex::kHolders; ++r) idx.record(r, system);
  EXPECT_EQ(idx.match(42, system), 8u);
  EXPECT_EQ(idx.match(PrefixIndex::kMaxReplicas, system), 8u);
}

using testing::ready;

// A tiny gateway loop: pick, dispatch (stats + index); the test decides when a
// request's first token comes back and when it ends.
struct Harness {
  explicit Harness(RoutingConfig c) : config(std::move(c)), shared(config) {
    policy = std::move(*make_policy(config, shared, 1));
    for (ReplicaId i = 0; i < 4; ++i) views.push_back(ready(i));
  }
  struct Sent {
    ReplicaId id;
    Ticket ticket;
  };
  Sent send(const std::vector<uint64_t>& prefix) {
    RequestInfo req;
    req.prefix = prefix;
    req.prompt_tokens = static_cast<uint32_t>(prefix.size() * kKvBlockTokens);
    req.max_tokens = 100;
    for (auto& v : views) stats[v.id].fill(v);
    const ReplicaId id = *policy->pick(req, views, {});
    Ticket t = dispatched(stats[id], req, policy->on_dispatch(id, req));
    ++views[id].in_flight;
    return {id, t};
  }
  void first(Sent& s) { first_token(stats[s.id], s.ticket); }
  void finish(Sent& s) {
    finished(stats[s.id], s.ticket, Outcome{OutcomeKind::kOk, from_ms(10), from_ms(100), 10}, {}, 10);
    --views[s.id].in_flight;
  }
  RoutingConfig config;
  SharedState shared;
  std::unique_ptr<RoutingPolicy> policy;
  std::vector<ReplicaView> views;
  ReplicaStats stats[4];
};

RoutingConfig prefix_config() {
  RoutingConfig c;
  c.policy = "prefix_affinity";
  return c;
}

TEST(PrefixAffinityTest, SendsARepeatedConversationBackToItsReplica) {
  Harness h(prefix_config());
  // Other conversations keep the other replicas busy-ish; ours always goes home.
  auto conv = chain(1, 20);
  auto first = h.send(conv);
  h.finish(first);
  for (int turn = 0; turn < 5; ++turn) {
    for (uint64_t i = 0; i < 4; ++i) conv.push_back(1000 + turn * 10 + i);  // the growing history
    auto sent = h.send(conv);
    EXPECT_EQ(sent.id, first.id) << "turn " << turn;
    EXPECT_EQ(sent.ticket.predicted_cached, (conv.size() - 4) * kKvBlockTokens);
    h.finish(sent);
  }
}

TEST(PrefixAffinityTest, StopsStickingWhenTheHolderHasTooMuchPrefillQueued) {
  RoutingConfig c = prefix_config();
  c.prefix.max_pending_prefill_tokens = 1000;
  c.prefix.request_cost_tokens = 0;  // prefill work only
  Harness h(c);
  const auto doc = chain(5, 200);  // 3,200 tokens
  auto seed = h.send(doc);
  h.finish(seed);
  // Each request adds 10 new blocks (160 uncached tokens) after the shared document;
  // none gets its first token back. The holder takes them while its queued prefill
  // is under 1,000 tokens: 0, 160, ..., 960 → seven, then the eighth goes elsewhere.
  std::vector<ReplicaId> order;
  for (int n = 0; n < 9; ++n) {
    auto req = doc;
    for (uint64_t i = 0; i < 10; ++i) req.push_back(5000 + n * 100 + i);
    order.push_back(h.send(req).id);
  }
  for (int n = 0; n < 7; ++n) EXPECT_EQ(order[n], seed.id) << n;
  EXPECT_NE(order[7], seed.id);
  EXPECT_NE(order[8], seed.id);
  EXPECT_EQ(h.stats[seed.id].prefill_pending.load(), 7 * 160u);
}

TEST(PrefixAffinityTest, NewConversationsSharingASystemPromptSpread) {
  Harness h(prefix_config());
  const auto system = chain(3, 10);
  std::map<ReplicaId, int> hits;
  for (int user = 0; user < 40; ++user) {
    auto conv = system;
    for (uint64_t i = 0; i < 3; ++i) conv.push_back(90000 + user * 10 + i);
    auto s = h.send(conv);
    h.first(s);  // prefill done, still decoding
    ++hits[s.id];
  }
  for (ReplicaId r = 0; r < 4; ++r) EXPECT_EQ(hits[r], 10) << r;
}

TEST(ReplicaStatsTest, TicketsReleaseWhatTheyHold) {
  ReplicaStats s;
  RequestInfo req;
  req.prompt_tokens = 1000;
  req.max_tokens = 200;
  Ticket t = dispatched(s, req, 640);
  EXPECT_EQ(s.tokens_in_flight.load(), 1200u);
  EXPECT_EQ(s.prefill_pending.load(), 360u);
  first_token(s, t);
  EXPECT_EQ(s.prefill_pending.load(), 0u);
  finished(s, t, Outcome{OutcomeKind::kOk, from_ms(100), from_ms(1100), 100}, TimePoint{} + std::chrono::seconds(5), 10);
  EXPECT_EQ(s.tokens_in_flight.load(), 0u);
  EXPECT_NEAR(s.latency_ms.load(), 11.0, 1e-9);
  // A cancelled request before its first token releases its prefill too.
  Ticket u = dispatched(s, req, 0);
  finished(s, u, Outcome{OutcomeKind::kCancelled, {}, {}, 0}, TimePoint{} + std::chrono::seconds(6), 10);
  EXPECT_EQ(s.prefill_pending.load(), 0u);
  EXPECT_EQ(s.tokens_in_flight.load(), 0u);
  EXPECT_NEAR(s.latency_ms.load(), 11.0, 1e-9);  // cancellations say nothing about speed
}

}  // namespace
}  // namespace tidal::routing
