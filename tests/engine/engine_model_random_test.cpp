// Randomized differential test of the engine model: the simulator's fast path
// (analytic pure-decode stretches, interrupted by arrivals and cancellations the way
// sim::Runner interrupts them) must agree with plain stepping on random workloads —
// overload, prompts up to and beyond the context, KV pressure with preemption, and
// cancellations — and nothing may abort.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>

#include "common/rng.h"
#include "engine/model/engine_model.h"

namespace tidal::engine {
namespace {

struct Op {
  double t_ms = 0;
  bool cancel = false;
  SeqRequest req;  // for a cancel: only req.id
};

struct Outcome {
  std::map<SeqId, double> first_ms, finished_ms;
  std::map<SeqId, uint32_t> tokens;  // of finished requests
  std::set<SeqId> refused;
  EngineCounters counters;
  std::vector<double> boundaries_ms;  // step ends (stepping only)
};

struct Case {
  EnginePreset preset;
  std::vector<Op> ops;  // sorted by time
};

Case random_case(uint64_t seed) {
  Rng rng(seed);
  Case c;
  c.preset = *find_preset("llama3-8b-h100");
  c.preset.step.jitter_sigma = 0;  // exact timings on both paths
  c.preset.max_model_len = 2048 + static_cast<uint32_t>(rng.below(6144));
  // From barely one request's worth of KV (constant preemption) to roomy.
  c.preset.kv_capacity_tokens = c.preset.max_model_len * (1 + static_cast<uint32_t>(rng.below(8)));
  c.preset.max_num_seqs = 2 + static_cast<uint32_t>(rng.below(64));
  c.preset.max_num_batched_tokens = 256 + static_cast<uint32_t>(rng.below(8192));
  const int n = 150 + static_cast<int>(rng.below(150));
  const double gap_ms = 1 + rng.uniform() * 60;  // down to heavy overload
  double t = 0;
  std::vector<BlockHash> shared;  // a common system prompt for some requests
  for (int i = 0; i < 64; ++i) shared.push_back(0x1000 + static_cast<BlockHash>(i));
  for (SeqId id = 1; id <= static_cast<SeqId>(n); ++id) {
    t += rng.exponential(gap_ms);
    Op op;
    op.t_ms = t;
    const double kind = rng.uniform();
    uint32_t prompt = 0;
    if (kind < 0.6) prompt = 1 + static_cast<uint32_t>(rng.below(600));
    else if (kind < 0.9) prompt = 1 + static_cast<uint32_t>(rng.below(c.preset.max_model_len));
    else prompt = c.preset.max_model_len - 8 + static_cast<uint32_t>(rng.below(64));  // around and past the limit
    op.req = SeqRequest{id, prompt, 1 + static_cast<uint32_t>(rng.below(rng.uniform() < 0.8 ? 200 : 1500)), {}};
    if (rng.uniform() < 0.3) {
      const size_t blocks = std::min<size_t>(prompt / 16, shared.size());
      op.req.prefix_hashes.assign(shared.begin(), shared.begin() + static_cast<std::ptrdiff_t>(blocks));
    }
    c.ops.push_back(op);
    if (rng.uniform() < 0.15) {  // the client leaves: while queued, prefilling or decoding
      Op cancel;
      cancel.t_ms = t + rng.exponential(400);
      cancel.cancel = true;
      cancel.req.id = id;
      c.ops.push_back(cancel);
    }
  }
  std::stable_sort(c.ops.begin(), c.ops.end(), [](const Op& a, const Op& b) { return a.t_ms < b.t_ms; });
  return c;
}

void apply(EngineModel& m, const Op& op, Outcome& out) {
  if (op.cancel) {
    m.cancel(op.req.id);  // unknown (refused or finished) ids are a no-op
    return;
  }
  if (!m.accepts(op.req.prompt_tokens, op.req.max_tokens)) {
    out.refused.insert(op.req.id);
    return;
  }
  m.submit(op.req);
}

void record(const std::vector<TokenEvent>& events, double now, Outcome& out) {
  for (const auto& ev : events) {
    if (ev.index == 0) out.first_ms[ev.id] = now;
    if (ev.finished) out.tokens[ev.id] = ev.index + 1;  // a stretch reports only its finishing tokens
    if (ev.finished) out.finished_ms[ev.id] = now;
  }
}

// Runs a case: operations are applied once the clock reaches them; `advance(m, now,
// next)` moves the model (and `now`) while it has work, and may apply ops itself.
template <class Advance>
Outcome drive(const Case& c, Advance advance) {
  EngineModel m(c.preset, 1);
  Outcome out;
  double now = 0;
  size_t next = 0;
  while (next < c.ops.size() || m.has_work()) {
    while (next < c.ops.size() && c.ops[next].t_ms <= now) apply(m, c.ops[next++], out);
    if (!m.has_work()) {
      if (next < c.ops.size()) now = std::max(now, c.ops[next].t_ms);
      continue;
    }
    advance(m, now, next, out);
  }
  out.counters = m.counters();
  return out;
}

// Plain stepping: operations take effect at the first step boundary at or after them.
Outcome stepped(const Case& c) {
  return drive(c, [](EngineModel& m, double& now, size_t&, Outcome& out) {
    Step s = m.step();
    now += to_ms(s.duration);
    out.boundaries_ms.push_back(now);
    record(s.events, now, out);
  });
}

// Stepping sums per-step durations rounded to nanoseconds; a stretch rounds once. The
// two clocks drift apart by up to a few microseconds, so an operation that lands within
// that drift of a step boundary may fall on either side of it. Such operations are moved
// off the boundary (the earliest first, since moving it changes later boundaries).
void move_ops_off_boundaries(Case& c) {
  constexpr double kDriftMs = 0.02;
  for (int round = 0; round < 200; ++round) {
    const Outcome a = stepped(c);
    bool moved = false;
    for (auto& op : c.ops) {
      auto it = std::lower_bound(a.boundaries_ms.begin(), a.boundaries_ms.end(), op.t_ms - kDriftMs);
      if (it != a.boundaries_ms.end() && *it <= op.t_ms + kDriftMs) {
        op.t_ms = *it + 2 * kDriftMs;
        moved = true;
        break;
      }
    }
    if (!moved) return;
    std::stable_sort(c.ops.begin(), c.ops.end(), [](const Op& x, const Op& y) { return x.t_ms < y.t_ms; });
  }
  FAIL() << "could not move operations off step boundaries";
}

// The simulator's way: plan the longest stretch; an operation that lands inside it
// commits the steps that started before it (at least one), like sim::Runner::interrupt.
Outcome fast(const Case& c) {
  return drive(c, [&c](EngineModel& m, double& now, size_t& next, Outcome& out) {
    const uint32_t k = m.pure_decode_steps();
    if (k < 2) {
      Step s = m.step();
      now += to_ms(s.duration);
      record(s.events, now, out);
      return;
    }
    const double end = now + to_ms(m.pure_decode_duration(k));
    if (next < c.ops.size() && c.ops[next].t_ms < end) {
      const double elapsed = c.ops[next].t_ms - now;
      const uint32_t part =
          elapsed > 0 ? std::min(k, std::max<uint32_t>(1, m.pure_decode_steps_covering(from_ms(elapsed)))) : 0;
      if (part == 0) {
        apply(m, c.ops[next++], out);  // lands on the boundary itself
        return;
      }
      const Duration d = m.pure_decode_duration(part);
      DecodeStretch s = m.advance_decode(part, 1.0);
      now += to_ms(d);
      record(s.events, now, out);
      return;
    }
    DecodeStretch s = m.advance_decode(k, 1.0);
    now = end;
    record(s.events, now, out);
  });
}

TEST(EngineModelRandomTest, StretchesAgreeWithSteppingUnderOverloadPreemptionAndCancellation) {
  uint64_t total_refused = 0, total_cancelled = 0, total_preemptions = 0;
  for (uint64_t seed = 1; seed <= 40; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    Case c = random_case(seed);
    move_ops_off_boundaries(c);
    const Outcome a = stepped(c), b = fast(c);
    EXPECT_EQ(a.refused, b.refused);
    EXPECT_EQ(a.tokens, b.tokens);
    EXPECT_EQ(a.counters.steps, b.counters.steps);
    EXPECT_EQ(a.counters.generation_tokens, b.counters.generation_tokens);
    EXPECT_EQ(a.counters.prompt_tokens, b.counters.prompt_tokens);
    EXPECT_EQ(a.counters.preemptions, b.counters.preemptions);
    EXPECT_EQ(a.counters.prefix_hits, b.counters.prefix_hits);
    ASSERT_EQ(a.finished_ms.size(), b.finished_ms.size());
    for (const auto& [id, t] : a.finished_ms) {
      ASSERT_TRUE(b.finished_ms.count(id)) << "request " << id;
      EXPECT_NEAR(b.finished_ms.at(id), t, 1e-3 * (1 + t / 1000)) << "request " << id;
    }
    for (const auto& [id, t] : a.first_ms) { if (b.first_ms.count(id)) { EXPECT_NEAR(b.first_ms.at(id), t, 1e-3 * (1 + t / 1000)) << "request " << id; } }
    // Every accepted request either finished or was cancelled.
    size_t accepted = 0, cancels = 0;
    for (const auto& op : c.ops) {
      if (op.cancel) ++cancels;
      else if (!a.refused.count(op.req.id)) ++accepted;
    }
    EXPECT_GE(a.finished_ms.size() + cancels, accepted);
    total_refused += a.refused.size();
    total_preemptions += a.counters.preemptions;
    total_cancelled += accepted - a.finished_ms.size();
  }
  EXPECT_GT(total_refused, 0u) << "the cases must include prompts beyond the context";
  EXPECT_GT(total_cancelled, 0u) << "the cases must cancel running requests";
  EXPECT_GT(total_preemptions, 0u) << "the cases must run out of KV blocks";
}

TEST(EngineModelRandomTest, RefusesWhatCanNeverRun) {
  EnginePreset p = *find_preset("llama3-8b-h100");
  p.max_model_len = 4096;
  p.kv_capacity_tokens = 2048;  // smaller than the context: the KV cache is the limit
  EngineModel m(p, 1);
  EXPECT_TRUE(m.accepts(1000, 1000));
  EXPECT_FALSE(m.accepts(2000, 100));   // over the KV cache
  EXPECT_FALSE(m.accepts(0, 10));
  EXPECT_FALSE(m.accepts(10, 0));
  EXPECT_FALSE(m.accepts(UINT32_MAX, 2));  // no overflow
}

}  // namespace
}  // namespace tidal::engine
