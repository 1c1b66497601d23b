#include "engine/model/engine_model.h"

#include <gtest/gtest.h>

#include <map>

#include "common/tokens.h"
#include "engine/model/step_time.h"

namespace tidal::engine {
namespace {

EnginePreset test_preset() {
  EnginePreset p = *find_preset("llama3-8b-h100");
  p.step.jitter_sigma = 0.0;  // exact timings
  return p;
}

struct Timeline {
  std::map<SeqId, double> submitted_ms, first_token_ms, finished_ms;
  std::map<SeqId, uint32_t> tokens, cached;
};

// Runs the model to completion on a virtual clock; `at_ms` lets requests arrive later.
Timeline run(EngineModel& m, std::vector<std::pair<double, SeqRequest>> arrivals) {
  Timeline t;
  double now = 0;
  size_t next = 0;
  while (next < arrivals.size() || m.has_work()) {
    while (next < arrivals.size() && arrivals[next].first <= now) {
      t.submitted_ms[arrivals[next].second.id] = now;
      m.submit(arrivals[next].second);
      ++next;
    }
    if (!m.has_work()) {
      now = arrivals[next].first;
      continue;
    }
    Step s = m.step();
    now += to_ms(s.duration);
    for (const auto& ev : s.events) {
      if (ev.index == 0) t.first_token_ms[ev.id] = now;
      t.tokens[ev.id] = ev.index + 1;
      t.cached[ev.id] = ev.cached_tokens;
      if (ev.finished) t.finished_ms[ev.id] = now;
    }
  }
  return t;
}

SeqRequest req(SeqId id, uint32_t prompt, uint32_t out, std::vector<BlockHash> hashes = {}) {
  return SeqRequest{id, prompt, out, std::move(hashes)};
}

TEST(StepTimeTest, MatchesCalibratedFormula) {
  StepTimeParams p{6.8, 0.035, 0.06, 0};
  EXPECT_NEAR(step_ms(p, 1, 0), std::sqrt(6.8 * 6.8 + 0.035 * 0.035), 1e-9);
  EXPECT_NEAR(step_ms(p, 1000, 100000), std::sqrt(6.8 * 6.8 + 35.0 * 35.0) + 6.0, 1e-9);
}

TEST(EngineModelTest, EmitsEveryTokenAndFinishes) {
  EngineModel m(test_preset(), 1);
  auto t = run(m, {{0, req(1, 100, 20)}});
  EXPECT_EQ(t.tokens[1], 20u);
  EXPECT_TRUE(t.finished_ms.count(1));
  EXPECT_FALSE(m.has_work());
  EXPECT_EQ(m.kv_usage(), 0.0);
  EXPECT_EQ(m.counters().generation_tokens, 20u);
  EXPECT_EQ(m.counters().prompt_tokens, 100u);
}

TEST(EngineModelTest, BatchingFinishesEightFarFasterThanEightTimesOne) {
  EngineModel single(test_preset(), 1);
  const double one = run(single, {{0, req(1, 200, 100)}}).finished_ms[1];
  EngineModel batch(test_preset(), 1);
  std::vector<std::pair<double, SeqRequest>> eight;
  for (SeqId i = 1; i <= 8; ++i) eight.push_back({0, req(i, 200, 100)});
  auto t = run(batch, eight);
  double last = 0;
  for (auto& [id, ms] : t.finished_ms) last = std::max(last, ms);
  EXPECT_LT(last, 2.0 * one) << "8 batched requests should take about as long as one";
  EXPECT_GT(last, one);
}

TEST(EngineModelTest, FirstTokenComesAtTheEndOfPrefill) {
  EngineModel m(test_preset(), 1);
  auto t = run(m, {{0, req(1, 100, 5)}});
  // One step: a 100-token prefill; its end emits token 0.
  EXPECT_NEAR(t.first_token_ms[1], step_ms(test_preset().step, 100, 0), 1e-6);
}

TEST(EngineModelTest, LongPromptsArePrefilledInChunks) {
  EnginePreset p = test_preset();
  p.max_num_batched_tokens = 2048;
  EngineModel m(p, 1);
  m.submit(req(1, 5000, 3));
  const Step s1b = m.step();
  EXPECT_EQ(s1b.prefill_tokens, 2048u);
  EXPECT_TRUE(s1b.events.empty());
  EXPECT_TRUE(m.step().events.empty());        // 4096 computed
  Step s3 = m.step();                          // the last 904 tokens
  EXPECT_EQ(s3.prefill_tokens, 5000u - 4096u);
  ASSERT_EQ(s3.events.size(), 1u);
  EXPECT_EQ(s3.events[0].index, 0u);
}

TEST(EngineModelTest, LongPrefillSlowsTheDecodesSharingItsStep) {
  EngineModel m(test_preset(), 1);
  m.submit(req(1, 16, 200));
  (void)m.step();  // prefill of request 1
  const Step decode_alone = m.step();
  EXPECT_EQ(decode_alone.decode_seqs, 1u);
  m.submit(req(2, 4000, 5));
  const Step mixed = m.step();
  EXPECT_EQ(mixed.decode_seqs, 1u);
  EXPECT_EQ(mixed.prefill_tokens, 4000u);
  ASSERT_EQ(mixed.events.size(), 2u);  // request 1's token waited for request 2's prefill
  EXPECT_GT(to_ms(mixed.duration), 5 * to_ms(decode_alone.duration));
}

TEST(EngineModelTest, RepeatedPrefixSkipsItsPrefillAndReportsCachedTokens) {
  const std::string prompt(8000, 'x');  // 2000 tokens
  const auto hashes = prefix_block_hashes(prompt);
  EngineModel m(test_preset(), 1);
  auto first = run(m, {{0, req(1, 2000, 4, hashes)}});
  auto second = run(m, {{0, req(2, 2000, 4, hashes)}});
  const double ttft1 = first.first_token_ms[1];
  const double ttft2 = second.first_token_ms[2] - second.submitted_ms[2];
  EXPECT_LT(ttft2, ttft1 / 3) << "cached prefix should cut TTFT";
  EXPECT_EQ(first.cached[1], 0u);
  EXPECT_EQ(second.cached[2], 1984u);  // 124 full blocks; at least one token recomputed
  EXPECT_EQ(m.counters().prefix_hits, 1984u);
}

TEST(EngineModelTest, DifferentPromptsDoNotHitTheCache) {
  EngineModel m(test_preset(), 1);
  run(m, {{0, req(1, 500, 2, prefix_block_hashes(std::string(2000, 'a')))}});
  auto t = run(m, {{0, req(2, 500, 2, prefix_block_hashes(std::string(2000, 'b')))}});
  EXPECT_EQ(t.cached[2], 0u);
}

TEST(EngineModelTest, PreemptsWhenKvBlocksRunOutAndStillFinishesAll) {
  EnginePreset p = test_preset();
  p.kv_capacity_tokens = 1024;  // 64 blocks
  EngineModel m(p, 1);
  std::vector<std::pair<double, SeqRequest>> reqs;
  for (SeqId i = 1; i <= 4; ++i) reqs.push_back({0, req(i, 200, 300)});
  auto t = run(m, reqs);
  EXPECT_GT(m.counters().preemptions, 0u);
  for (SeqId i = 1; i <= 4; ++i) EXPECT_EQ(t.tokens[i], 300u) << "request " << i;
  EXPECT_EQ(m.kv_usage(), 0.0);
}

TEST(EngineModelTest, RespectsTheSequenceCap) {
  EnginePreset p = test_preset();
  p.max_num_seqs = 2;
  EngineModel m(p, 1);
  for (SeqId i = 1; i <= 5; ++i) m.submit(req(i, 10, 10));
  size_t max_running = 0;
  while (m.has_work()) {
    (void)m.step();
    max_running = std::max(max_running, m.num_running());
  }
  EXPECT_EQ(max_running, 2u);
  EXPECT_EQ(m.counters().finished, 5u);
}

TEST(EngineModelTest, CancelFreesTheSlotAndBlocks) {
  EngineModel m(test_preset(), 1);
  m.submit(req(1, 300, 100));
  (void)m.step();
  EXPECT_GT(m.kv_usage(), 0.0);
  m.cancel(1);
  EXPECT_FALSE(m.has_work());
  EXPECT_EQ(m.kv_usage(), 0.0);
  m.cancel(42);  // unknown ids are ignored
}

TEST(EngineModelTest, SameSeedGivesSameStepTimes) {
  auto durations = [](uint64_t seed) {
    EngineModel m(*find_preset("llama3-8b-h100"), seed);  // with jitter
    m.submit(req(1, 100, 50));
    std::vector<int64_t> d;
    while (m.has_work()) d.push_back(m.step().duration.count());
    return d;
  };
  EXPECT_EQ(durations(7), durations(7));
  EXPECT_NE(durations(7), durations(8));
}

// The simulator's fast path: advancing pure-decode stretches analytically must give the
// same first-token and finish times as stepping, with requests arriving mid-stretch
// (up to nanosecond rounding of per-step durations: 10 us over ~30 s of model time).
TEST(EngineModelTest, DecodeStretchesMatchSteppingExactly) {
  EnginePreset p = test_preset();
  p.kv_capacity_tokens = 16'384;  // small enough that some stretches end on KV limits
  Rng rng(11);
  std::vector<std::pair<double, SeqRequest>> arrivals;
  double t = 0;
  for (SeqId i = 1; i <= 300; ++i) {
    t += rng.exponential(40.0);
    arrivals.push_back({t, req(i, 1 + static_cast<uint32_t>(rng.below(1500)), 1 + static_cast<uint32_t>(rng.below(400)))});
  }
  EngineModel stepped(p, 1);
  Timeline a = run(stepped, arrivals);

  EngineModel fast(p, 1);
  Timeline b;
  double now = 0;
  size_t next = 0, stretches = 0, steps = 0;
  while (next < arrivals.size() || fast.has_work()) {
    while (next < arrivals.size() && arrivals[next].first <= now) {
      fast.submit(arrivals[next].second);
      ++next;
    }
    if (!fast.has_work()) {
      now = arrivals[next].first;
      continue;
    }
    const Duration span = next < arrivals.size() ? from_ms(arrivals[next].first - now) : Duration::max();
    const uint32_t k = fast.pure_decode_steps_covering(span);
    if (k > 1) {
      DecodeStretch d = fast.advance_decode(k);
      now += to_ms(d.duration);
      for (const auto& ev : d.events) b.finished_ms[ev.id] = now;
      ++stretches;
      continue;
    }
    Step s = fast.step();
    ++steps;
    now += to_ms(s.duration);
    for (const auto& ev : s.events) {
      if (ev.index == 0) b.first_token_ms[ev.id] = now;
      if (ev.finished) b.finished_ms[ev.id] = now;
    }
  }
  ASSERT_EQ(b.finished_ms.size(), 300u);
  for (SeqId i = 1; i <= 300; ++i) {
    EXPECT_NEAR(b.first_token_ms[i], a.first_token_ms[i], 1e-2) << "request " << i;
    EXPECT_NEAR(b.finished_ms[i], a.finished_ms[i], 1e-2) << "request " << i;
  }
  EXPECT_EQ(fast.counters().generation_tokens, stepped.counters().generation_tokens);
  EXPECT_EQ(fast.counters().steps, stepped.counters().steps);
  EXPECT_GT(stretches, 100u);
  EXPECT_LT(steps + stretches, stepped.counters().steps / 4) << "stretches must save most events";
}

}  // namespace
}  // namespace tidal::engine
