// The pure, step-synchronous timing model of a continuous-batching LLM engine (vLLM
// V1 scheduling): each step has a token budget and a sequence cap; running sequences
// go first (one token per decode, a chunk per unfinished prefill), then waiting
// requests are admitted while budget, cap and KV blocks allow. Tokens appear at step
// boundaries, so a long prefill slows the decodes that share its step. No clock: the
// caller waits `duration` (emulator) or schedules an event (simulator).
//
//   EngineModel m(*find_preset("cpu-tiny"), rng_seed);
//   m.submit({.id = 1, .prompt_tokens = 100, .max_tokens = 20});
//   while (m.has_work()) { Step s = m.step(); /* wait s.duration, deliver s.tokens */ }
#pragma once

#include <cmath>
#include <cstdint>
#include <deque>
#include <unordered_map>
#include <vector>

#include "common/clock.h"
#include "common/rng.h"
#include "engine/model/kv_cache.h"
#include "engine/model/preset.h"

namespace tidal::engine {

using SeqId = uint64_t;

struct SeqRequest {
  SeqId id = 0;
  uint32_t prompt_tokens = 1;             // REQUIRES: >= 1
  uint32_t max_tokens = 1;                // output tokens to generate; REQUIRES: >= 1
  std::vector<BlockHash> prefix_hashes;   // chained hashes of full 16-token prompt blocks
};

struct TokenEvent {
  SeqId id;
  uint32_t index;        // 0-based output token index; 0 = first token (TTFT)
  bool finished;         // this was the last token
  uint32_t cached_tokens;  // prompt tokens served from the prefix cache (first admission)
};

struct Step {
  Duration duration{};
  uint32_t tokens = 0;            // N
  uint64_t context_tokens = 0;    // C
  uint32_t prefill_tokens = 0;
  uint32_t decode_seqs = 0;
  std::vector<TokenEvent> events;  // tokens emitted at the end of the step
};

// A run of pure-decode steps advanced in one go (simulator fast path): every running
// sequence decodes one token per step; nothing is admitted, prefilled or preempted.
struct DecodeStretch {
  uint32_t steps = 0;              // 0: the next step is not a pure decode; use step()
  Duration duration{};
  uint32_t seqs = 0;               // sequences decoding in each step
  std::vector<TokenEvent> events;  // tokens of the last step only for finishing sequences
};

struct EngineCounters {
  uint64_t prompt_tokens = 0;        // prompt tokens computed (excludes cache hits)
  uint64_t generation_tokens = 0;
  uint64_t preemptions = 0;
  uint64_t prefix_queries = 0;       // prompt tokens looked up in the prefix cache
  uint64_t prefix_hits = 0;          // of which found
  uint64_t finished = 0;
  uint64_t steps = 0;
};

struct ModelOptions {
  bool prefix_caching = true;
  // false: Step::events holds only first tokens (index 0) and last tokens, the only
  // ones a simulator acts on; timing and state are the same.
  bool every_token = true;
};

class EngineModel {
 public:
  EngineModel(const EnginePreset& preset, uint64_t seed, ModelOptions opts = {});

  // Whether a request of these sizes can ever run: both >= 1, prompt + max_tokens within
  // max_model_len and within the KV cache. Callers refuse the others as client errors.
  [[nodiscard]] bool accepts(uint32_t prompt_tokens, uint32_t max_tokens) const;
  // Queues a request (FIFO). REQUIRES: unique id; accepts(prompt, max_tokens).
  void submit(SeqRequest req);
  // Drops a request wherever it is and frees its blocks; no-op for unknown ids.
  void cancel(SeqId id);
  // Plans and commits one step. REQUIRES: has_work().
  [[nodiscard]] Step step();
  // The same into `out` (its events' capacity is reused: no allocation per step).
  void step(Step& out);

  // The most pure-decode steps that can run from now before the batch changes (a
  // sequence finishes, KV blocks run out, or a waiting request could be admitted).
  [[nodiscard]] uint32_t pure_decode_steps() const;
  // Duration of the next `k` pure-decode steps without jitter. REQUIRES: k <= pure_decode_steps().
  [[nodiscard]] Duration pure_decode_duration(uint32_t k) const;
  // The fewest pure-decode steps whose duration reaches `span` (so every step that starts
  // before now + span is included), capped at pure_decode_steps().
  [[nodiscard]] uint32_t pure_decode_steps_covering(Duration span) const;
  // Commits `k` pure-decode steps at once: the same state, token counts and finish
  // events as k calls to step(), with one jitter draw for the stretch (sigma/sqrt(k)).
  // `jitter` < 0 draws the factor; a caller that planned the stretch passes its own.
  // REQUIRES: 1 <= k <= pure_decode_steps().
  [[nodiscard]] DecodeStretch advance_decode(uint32_t k, double jitter = -1);
  void advance_decode(uint32_t k, double jitter, DecodeStretch& out);
  // The jitter factor advance_decode would draw for a stretch of k steps.
  [[nodiscard]] double draw_stretch_jitter(uint32_t k) {
    return rng_.lognormal_factor(preset_.step.jitter_sigma / std::sqrt(static_cast<double>(k)));
  }

  [[nodiscard]] bool has_work() const { return !running_.empty() || !waiting_.empty(); }
  [[nodiscard]] size_t num_running() const { return running_.size(); }
  [[nodiscard]] size_t num_waiting() const { return waiting_.size(); }
  [[nodiscard]] double kv_usage() const { return kv_.usage(); }
  [[nodiscard]] const EngineCounters& counters() const { return counters_; }
  [[nodiscard]] const EnginePreset& preset() const { return preset_; }

 private:
  struct Seq {
    SeqRequest req;
    uint32_t computed = 0;    // tokens whose KV is computed
    uint32_t generated = 0;   // output tokens emitted
    uint32_t cached_tokens = 0;
    bool admitted_before = false;
    KvBlocks blocks;
    [[nodiscard]] uint32_t length() const { return req.prompt_tokens + generated; }
  };
  struct Scheduled {
    Seq* seq;
    uint32_t tokens;
  };

  bool ensure_blocks(Seq& s, uint32_t upto_tokens);
  // Closed-form duration (ms, no jitter) of k pure-decode steps of n sequences that
  // hold c0 context tokens at the start.
  [[nodiscard]] double decode_ms(uint32_t k, double n, double c0) const;
  [[nodiscard]] double running_context() const;
  [[nodiscard]] uint32_t count_pure_decode_steps() const;
  // Whether step() would admit the first waiting request after `budget` tokens of decodes.
  [[nodiscard]] bool front_admissible(uint32_t budget) const;
  void preempt(Seq& s);
  void publish_prompt_blocks(Seq& s);

  EnginePreset preset_;
  KvCache kv_;
  Rng rng_;
  std::unordered_map<SeqId, Seq> seqs_;
  std::vector<Seq*> running_;    // admission order; unordered_map nodes never move
  std::deque<SeqId> waiting_;
  std::vector<Scheduled> scheduled_;  // reused each step
  std::vector<SeqId> done_;           // reused each step
  bool every_token_;
  // Bumped when a change of the batch or the cache starts and when it ends (a mutator
  // may take a memo midway); memos of the current version hold.
  uint64_t version_ = 0;
  template <class T>
  struct Memo {
    uint64_t version = UINT64_MAX;
    T value{};
  };
  mutable Memo<uint32_t> steps_memo_;
  mutable Memo<double> context_memo_;
  EngineCounters counters_;
};

}  // namespace tidal::engine
