// What the predictive policy learned survives a restart: the forecaster's state round
// trip, and the SQLite store the controller keeps it in.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "scaling/forecaster.h"
#include "scaling/io/memory_store.h"
#include "scaling/policies/predictive_policy.h"

namespace tidal::scaling {
namespace {

ForecastConfig daily() {
  ForecastConfig c;
  c.bucket_s = 60;
  c.season_s = 86400;
  c.slot_s = 3600;
  return c;
}

double rate_at(double t) { return 10 + 8 * std::sin(2 * M_PI * t / 86400); }

TEST(PolicyMemoryTest, ARestoredForecasterForecastsExactlyLikeTheOriginal) {
  HoltWinters a(daily(), 90);
  for (double t = 0; t < 3 * 86400; t += 15) a.observe(t, rate_at(t));
  HoltWinters b(daily(), 90);
  ASSERT_TRUE(b.load(a.save()));
  for (double t = 3 * 86400; t < 3 * 86400 + 7200; t += 15) {
    EXPECT_DOUBLE_EQ(a.forecast(t, 90), b.forecast(t, 90));
    a.observe(t, rate_at(t));
    b.observe(t, rate_at(t));
  }
  // Forecasts made before the restart and due after it are not scored by the restored one.
  EXPECT_NEAR(a.mape(), b.mape(), 1e-5);
  // A fresh forecaster knows nothing of the daily shape: the restored one does.
  HoltWinters fresh(daily(), 90);
  fresh.observe(3 * 86400, rate_at(3 * 86400));
  EXPECT_GT(std::abs(fresh.forecast(3 * 86400 + 21600, 0) - rate_at(3 * 86400 + 21600)),
            std::abs(b.forecast(3 * 86400 + 21600, 0) - rate_at(3 * 86400 + 21600)));
}

TEST(PolicyMemoryTest, RefusesStateOfAnotherShapeOrVersion) {
  HoltWinters a(daily(), 90);
  a.observe(0, 1);
  ForecastConfig weekly = daily();
  weekly.season_s = 604800;
  HoltWinters b(weekly, 90);
  EXPECT_FALSE(b.load(a.save()));  // 24 slots vs 168
  EXPECT_FALSE(b.load("holt-winters-v0 1 2 3"));
  EXPECT_FALSE(b.load(""));
}

TEST(PolicyMemoryTest, TheStoreKeepsOneRowPerPoolAndPolicyAcrossReopening) {
  const std::string path = ::testing::TempDir() + "/memory_" + std::to_string(::getpid()) + ".sqlite";
  std::filesystem::remove(path);
  PredictiveConfig pc;
  pc.rps_per_replica = 5;
  pc.forecast = daily();
  PredictivePolicy learned(pc);
  for (double t = 0; t < 86400; t += 60) {
    Signals s;
    s.wall_s = 1'700'000'000 + t;
    s.rps = rate_at(t);
    (void)learned.recommend(s);
  }
  {
    auto store = MemoryStore::open(path);
    ASSERT_TRUE(store) << store.error().message;
    ASSERT_TRUE(store->save("default", "predictive", "old", 1));
    ASSERT_TRUE(store->save("default", "predictive", learned.save_memory(), 2));  // replaces
    ASSERT_TRUE(store->save("other", "predictive", "x", 2));
  }
  auto store = MemoryStore::open(path);
  ASSERT_TRUE(store);
  auto text = store->load("default", "predictive");
  ASSERT_TRUE(text);
  PredictivePolicy restored(pc);
  EXPECT_TRUE(restored.load_memory(*text));
  EXPECT_EQ(restored.save_memory(), learned.save_memory());
  EXPECT_EQ(store->load("other", "predictive"), "x");
  EXPECT_FALSE(store->load("default", "slo"));
  EXPECT_FALSE(MemoryStore::open("/nonexistent-dir/x.sqlite"));
}

}  // namespace
}  // namespace tidal::scaling
