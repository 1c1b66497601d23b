// The gateway's AdmissionQueue on a real event loop with an in-memory registry (no
// network): who gets a freed slot, in the shared WaitQueue's order.
#include "gateway/admission_queue.h"

#include <gtest/gtest.h>

#include <optional>

#include "gateway/gateway_metrics.h"
#include "http/url.h"

namespace tidal::gateway {
namespace {

namespace asio = http::asio;
using routing::ReplicaId;

struct Fixture {
  fleet::Registry registry;
  GatewayMetrics metrics;
  PoolMetrics& pm;
  routing::RoutingConfig rc;
  routing::SharedState shared{rc};
  std::unique_ptr<routing::RoutingPolicy> policy;
  AdmissionQueue queue;
  asio::io_context io;

  explicit Fixture(admission::AdmissionConfig a, uint32_t max_queue = 100)
      : pm(metrics.add_pool("p", tier_names(a))), policy(std::move(*routing::make_policy(rc, shared, 1))),
        queue(registry, "p", std::move(a), max_queue, pm) {}

  static std::vector<std::string> tier_names(const admission::AdmissionConfig& a) {
    std::vector<std::string> out;
    for (const auto& t : a.tiers) out.push_back(t.name);
    return out;
  }

  ReplicaId add_ready(uint32_t port, uint32_t max_in_flight = 1) {
    auto url = http::parse_url("http://127.0.0.1:" + std::to_string(port));
    return registry.add("p", *url, http::tcp::endpoint(asio::ip::make_address("127.0.0.1"), port), max_in_flight,
                        fleet::ReplicaState::kReady);
  }
  // Frees a slot the test took directly from the registry.
  void free_slot(ReplicaId id) {
    registry.release(id);
    queue.wake();
  }
  // Starts admit() as a coroutine; the result lands in `out`.
  void admit(std::optional<Result<ReplicaId>>& out, std::vector<ReplicaId> exclude, Applicant who = {}) {
    asio::co_spawn(io, [this, &out, exclude = std::move(exclude), who]() -> http::awaitable<void> {
      routing::RequestInfo info;
      out = co_await queue.admit(*policy, info, exclude, who);
    }, asio::detached);
  }
  void run_until(const std::function<bool()>& done) {
    for (int i = 0; i < 2000 && !done(); ++i) {
      if (io.stopped()) io.restart();  // out of work for a moment (nobody waiting)
      io.run_for(std::chrono::milliseconds(1));
    }
  }
};

admission::AdmissionConfig paid_and_free(uint32_t paid_reserved_slots = 0) {
  admission::AdmissionConfig c;
  c.tiers = {{.name = "paid", .reserved_slots = paid_reserved_slots}, {.name = "free"}};
  return c;
}

TEST(AdmissionQueueTest, AWaiterThatCannotUseTheFreeSlotPassesItOn) {
  Fixture f(admission::single_tier(100, 30));
  const ReplicaId a = f.add_ready(1), b = f.add_ready(2);
  ASSERT_TRUE(f.registry.try_acquire(a));
  ASSERT_TRUE(f.registry.try_acquire(b));
  // A retry that already failed on b waits first; a fresh request waits behind it.
  std::optional<Result<ReplicaId>> retry, fresh;
  f.admit(retry, {b});
  f.run_until([&] { return f.queue.depth() == 1; });
  f.admit(fresh, {});
  f.run_until([&] { return f.queue.depth() == 2; });
  // b frees: the retry (first in line) cannot take it, the fresh request does.
  f.free_slot(b);
  f.run_until([&] { return fresh.has_value(); });
  ASSERT_TRUE(fresh.has_value());
  ASSERT_TRUE(fresh->has_value());
  EXPECT_EQ(**fresh, b);
  EXPECT_FALSE(retry.has_value()) << "the retry still waits for a replica it may use";
  // a frees: the retry takes it.
  f.free_slot(a);
  f.run_until([&] { return retry.has_value(); });
  ASSERT_TRUE(retry.has_value() && retry->has_value());
  EXPECT_EQ(**retry, a);
}

TEST(AdmissionQueueTest, AFreedSlotGoesToTheHigherTierEvenIfItCameLater) {
  Fixture f(paid_and_free());
  const ReplicaId a = f.add_ready(1);
  ASSERT_TRUE(f.registry.try_acquire(a));
  std::optional<Result<ReplicaId>> free1, paid;
  f.admit(free1, {}, Applicant{.tier = 1});
  f.run_until([&] { return f.queue.depth() == 1; });
  f.admit(paid, {}, Applicant{.tier = 0});
  f.run_until([&] { return f.queue.depth() == 2; });
  f.free_slot(a);
  f.run_until([&] { return paid.has_value(); });
  ASSERT_TRUE(paid.has_value() && paid->has_value());
  EXPECT_FALSE(free1.has_value());
}

TEST(AdmissionQueueTest, AFullQueueEvictsTheLowerTierWithShed) {
  Fixture f(paid_and_free(), /*max_queue=*/1);
  const ReplicaId a = f.add_ready(1);
  ASSERT_TRUE(f.registry.try_acquire(a));
  std::optional<Result<ReplicaId>> free1, paid;
  f.admit(free1, {}, Applicant{.tier = 1});
  f.run_until([&] { return f.queue.depth() == 1; });
  f.admit(paid, {}, Applicant{.tier = 0});
  f.run_until([&] { return free1.has_value(); });
  ASSERT_TRUE(free1.has_value());
  ASSERT_FALSE(free1->has_value());
  EXPECT_EQ(free1->error().code, "shed");
  EXPECT_EQ(f.queue.depth(), 1u);
  f.free_slot(a);
  f.run_until([&] { return paid.has_value(); });
  ASSERT_TRUE(paid.has_value() && paid->has_value());
}

TEST(AdmissionQueueTest, ReservedSlotsAreKeptForTheHigherTier) {
  Fixture f(paid_and_free(/*paid_reserved_slots=*/1));
  f.add_ready(1, /*max_in_flight=*/2);
  std::optional<Result<ReplicaId>> free1, free2, paid;
  f.admit(free1, {}, Applicant{.tier = 1});
  f.run_until([&] { return free1.has_value(); });
  ASSERT_TRUE(free1.has_value() && free1->has_value()) << "one of two slots is free for anyone";
  // The second slot is the paid tier's: a free request waits, a paid one takes it at once.
  f.admit(free2, {}, Applicant{.tier = 1});
  f.run_until([&] { return f.queue.depth() == 1; });
  EXPECT_FALSE(free2.has_value());
  f.admit(paid, {}, Applicant{.tier = 0});
  f.run_until([&] { return paid.has_value(); });
  ASSERT_TRUE(paid.has_value() && paid->has_value());
  // The first free request ends: its slot goes to the waiting free request.
  f.queue.release(**free1, 1);
  f.run_until([&] { return free2.has_value(); });
  ASSERT_TRUE(free2.has_value() && free2->has_value());
}

}  // namespace
}  // namespace tidal::gateway
