#include "engine/model/engine_model.h"

#include <algorithm>
#include <cmath>

#include "common/check.h"
#include "common/tokens.h"
#include "engine/model/step_time.h"

namespace tidal::engine {
namespace {

uint32_t blocks_for(uint32_t tokens) { return (tokens + kKvBlockTokens - 1) / kKvBlockTokens; }

}  // namespace

EngineModel::EngineModel(const EnginePreset& preset, uint64_t seed, ModelOptions opts)
    : preset_(preset),
      kv_(preset.kv_capacity_tokens / kKvBlockTokens, opts.prefix_caching),
      rng_(seed),
      every_token_(opts.every_token) {}

bool EngineModel::accepts(uint32_t prompt_tokens, uint32_t max_tokens) const {
  const uint64_t total = static_cast<uint64_t>(prompt_tokens) + max_tokens;
  return prompt_tokens >= 1 && max_tokens >= 1 && total <= preset_.max_model_len &&
         blocks_for(static_cast<uint32_t>(total)) <= kv_.total_blocks();
}

void EngineModel::submit(SeqRequest req) {
  ++version_;
  TIDAL_CHECK(accepts(req.prompt_tokens, req.max_tokens));
  const SeqId id = req.id;
  auto [it, inserted] = seqs_.emplace(id, Seq{std::move(req)});
  TIDAL_CHECK(inserted);
  Seq& s = it->second;
  s.blocks = KvBlocks(kv_.prefix_caching() && !s.req.prefix_hashes.empty());
  s.blocks.reserve(blocks_for(s.req.prompt_tokens + s.req.max_tokens));
  waiting_.push_back(id);
}

void EngineModel::cancel(SeqId id) {
  ++version_;
  auto it = seqs_.find(id);
  if (it == seqs_.end()) return;
  kv_.release(it->second.blocks);
  if (auto r = std::find(running_.begin(), running_.end(), &it->second); r != running_.end()) {
    running_.erase(r);
  } else if (auto w = std::find(waiting_.begin(), waiting_.end(), id); w != waiting_.end()) {
    waiting_.erase(w);
  }
  seqs_.erase(it);
}

bool EngineModel::ensure_blocks(Seq& s, uint32_t upto_tokens) {
  const uint32_t need = blocks_for(upto_tokens);
  if (need <= s.blocks.size()) return true;
  return kv_.allocate(need - static_cast<uint32_t>(s.blocks.size()), s.blocks);
}

void EngineModel::preempt(Seq& s) {
  // Recompute-style preemption: blocks go back (content stays hashed, so the
  // recompute may hit the prefix cache), and the sequence re-enters the queue first.
  kv_.release(s.blocks);
  s.computed = 0;
  ++counters_.preemptions;
  waiting_.push_front(s.req.id);
}

void EngineModel::publish_prompt_blocks(Seq& s) {
  const auto full = std::min<size_t>(s.computed / kKvBlockTokens, s.req.prefix_hashes.size());
  const auto ids = s.blocks.ids();
  for (size_t j = 0; j < full && j < ids.size(); ++j) kv_.publish(ids[j], s.req.prefix_hashes[j]);
}

Step EngineModel::step() {
  Step out;
  step(out);
  return out;
}

void EngineModel::step(Step& out) {
  ++version_;
  TIDAL_CHECK(has_work());
  out.events.clear();
  out.tokens = 0;
  out.context_tokens = 0;
  out.prefill_tokens = 0;
  out.decode_seqs = 0;
  scheduled_.clear();
  uint32_t budget = preset_.max_num_batched_tokens;
  bool preempted_any = false;

  // 1. Running sequences, oldest first; preempt the newest when blocks run out.
  for (size_t i = 0; i < running_.size() && budget > 0;) {
    Seq& s = *running_[i];
    const uint32_t n = std::min(s.length() - s.computed, budget);
    bool self_preempted = false;
    while (!ensure_blocks(s, s.computed + n)) {
      Seq& victim = *running_.back();
      running_.pop_back();
      preempt(victim);
      preempted_any = true;
      if (&victim == &s) {
        self_preempted = true;
        break;
      }
    }
    if (self_preempted) break;
    scheduled_.push_back({&s, n});
    budget -= n;
    ++i;
  }

  // 2. Waiting requests, FIFO, while budget, sequence cap and blocks allow.
  while (!preempted_any && !waiting_.empty() && budget > 0 && running_.size() < preset_.max_num_seqs) {
    Seq& s = seqs_.at(waiting_.front());
    uint32_t queried = 0;
    if (s.computed == 0 && s.blocks.empty()) {
      // At least one prompt token is always recomputed.
      const uint32_t max_hit_blocks = (s.length() - 1) / kKvBlockTokens;
      queried = std::min<uint32_t>(static_cast<uint32_t>(s.req.prefix_hashes.size()), max_hit_blocks);
      const uint32_t hits = kv_.acquire_prefix(s.req.prefix_hashes, max_hit_blocks, s.blocks);
      s.computed = hits * kKvBlockTokens;
    }
    const uint32_t n = std::min(s.length() - s.computed, budget);
    if (!ensure_blocks(s, s.computed + n)) {
      // Not enough room: hand back the prefix blocks and wait for the next step.
      kv_.release(s.blocks);
      s.computed = 0;
      break;
    }
    // Counted once, on the admission that happens (a refused attempt is not a query).
    if (!s.admitted_before) {
      s.cached_tokens = s.computed;
      counters_.prefix_queries += static_cast<uint64_t>(queried) * kKvBlockTokens;
      counters_.prefix_hits += s.computed;
    }
    waiting_.pop_front();
    s.admitted_before = true;
    running_.push_back(&s);
    scheduled_.push_back({&s, n});
    budget -= n;
  }

  // A request always fits an empty cache (submit checks), so a step never stalls.
  TIDAL_CHECK(!scheduled_.empty());

  // 3. Cost of the step, then commit: emit a token for every sequence that caught up.
  for (const auto& sc : scheduled_) {
    out.tokens += sc.tokens;
    const bool decoding = sc.tokens == 1 && sc.seq->computed >= sc.seq->req.prompt_tokens;
    if (decoding) {
      ++out.decode_seqs;
      out.context_tokens += sc.seq->computed;
    } else {
      out.prefill_tokens += sc.tokens;
    }
  }
  const double ms = step_ms(preset_.step, out.tokens, out.context_tokens) * rng_.lognormal_factor(preset_.step.jitter_sigma);
  out.duration = from_ms(ms);
  ++counters_.steps;

  done_.clear();
  for (const auto& sc : scheduled_) {
    Seq& s = *sc.seq;
    const uint32_t before = s.computed;
    s.computed += sc.tokens;
    if (before < s.req.prompt_tokens && s.generated == 0) {
      counters_.prompt_tokens += std::min(s.computed, s.req.prompt_tokens) - before;
      publish_prompt_blocks(s);
    }
    if (s.computed == s.length()) {
      const uint32_t index = s.generated++;
      ++counters_.generation_tokens;
      const bool finished = s.generated >= s.req.max_tokens;
      if (every_token_ || index == 0 || finished) out.events.push_back({s.req.id, index, finished, s.cached_tokens});
      if (finished) done_.push_back(s.req.id);
    }
  }
  for (SeqId id : done_) {
    ++counters_.finished;
    cancel(id);
  }
  ++version_;  // again: memos taken during the step are stale
}

uint32_t EngineModel::pure_decode_steps() const {
  // Asked several times per batch change (plan a stretch, cut it short): computed once.
  if (steps_memo_.version != version_) steps_memo_ = {version_, count_pure_decode_steps()};
  return steps_memo_.value;
}

uint32_t EngineModel::count_pure_decode_steps() const {
  if (running_.empty()) return 0;
  if (running_.size() > preset_.max_num_batched_tokens) return 0;
  // A waiting request that could be admitted changes the batch. If KV blocks keep it out
  // now, they keep it out for the whole stretch: decodes only consume blocks.
  if (!waiting_.empty() && running_.size() < preset_.max_num_seqs &&
      front_admissible(preset_.max_num_batched_tokens - static_cast<uint32_t>(running_.size()))) {
    return 0;
  }
  uint32_t k = UINT32_MAX;
  for (const Seq* sp : running_) {
    const Seq& s = *sp;
    // Still prefilling; a prompt with one token left is a prefill step, not a decode
    // (it emits the first token, and step() costs it as a prefill token).
    if (s.length() - s.computed != 1 || s.computed < s.req.prompt_tokens) return 0;
    k = std::min(k, s.req.max_tokens - s.generated);
  }
  // KV: the largest k whose block demand fits the free blocks (demand grows with k).
  auto demand = [&](uint32_t steps) {
    uint64_t blocks = 0;
    for (const Seq* sp : running_) {
      const Seq& s = *sp;
      const uint32_t need = blocks_for(s.computed + steps);
      if (need > s.blocks.size()) blocks += need - s.blocks.size();
    }
    return blocks;
  };
  if (demand(k) <= kv_.free_blocks()) return k;
  uint32_t lo = 0, hi = k;  // demand(lo) fits, demand(hi) does not
  while (hi - lo > 1) {
    const uint32_t mid = lo + (hi - lo) / 2;
    if (demand(mid) <= kv_.free_blocks()) lo = mid; else hi = mid;
  }
  return lo;
}

bool EngineModel::front_admissible(uint32_t budget) const {
  if (budget == 0) return false;
  const Seq& s = seqs_.at(waiting_.front());
  uint32_t computed = s.computed, hits_in_free = 0;
  size_t held = s.blocks.size();
  if (s.computed == 0 && s.blocks.empty()) {
    const uint32_t max_hit_blocks = (s.length() - 1) / kKvBlockTokens;
    const uint32_t hits = kv_.peek_prefix(s.req.prefix_hashes, max_hit_blocks, hits_in_free);
    computed = hits * kKvBlockTokens;
    held = hits;
  }
  const uint32_t n = std::min(s.length() - computed, budget);
  const uint32_t need = blocks_for(computed + n);
  const uint32_t fresh = need > held ? need - static_cast<uint32_t>(held) : 0;
  // Blocks the running decodes of the next step take come first.
  uint32_t decode_blocks = 0;
  for (const Seq* r : running_) {
    if (blocks_for(r->computed + 1) > r->blocks.size()) ++decode_blocks;
  }
  return static_cast<uint64_t>(hits_in_free) + fresh + decode_blocks <= kv_.free_blocks();
}

double EngineModel::running_context() const {
  if (context_memo_.version != version_) {
    double c0 = 0;
    for (const Seq* sp : running_) c0 += sp->computed;
    context_memo_ = {version_, c0};
  }
  return context_memo_.value;
}

double EngineModel::decode_ms(uint32_t k, double n, double c0) const {
  const auto& p = preset_.step;
  const double kd = k;
  // Step j reads c0 + j*n context tokens: sum over j < k in closed form.
  const double per_step = step_ms(p, static_cast<uint64_t>(n), 0);
  return kd * per_step + p.per_context_token_us * 1e-3 * (kd * c0 + n * kd * (kd - 1) / 2.0);
}

Duration EngineModel::pure_decode_duration(uint32_t k) const {
  return from_ms(decode_ms(k, static_cast<double>(running_.size()), running_context()));
}

uint32_t EngineModel::pure_decode_steps_covering(Duration span) const {
  const uint32_t cap = pure_decode_steps();
  if (cap == 0) return 0;
  const double n = static_cast<double>(running_.size()), c0 = running_context();
  auto d = [&](uint32_t k) { return from_ms(decode_ms(k, n, c0)); };
  if (d(cap) <= span) return cap;
  uint32_t lo = 0, hi = cap;  // D(lo) < span <= D(hi)
  while (hi - lo > 1) {
    const uint32_t mid = lo + (hi - lo) / 2;
    if (d(mid) < span) lo = mid; else hi = mid;
  }
  return hi;
}

DecodeStretch EngineModel::advance_decode(uint32_t k, double jitter_factor) {
  DecodeStretch out;
  advance_decode(k, jitter_factor, out);
  return out;
}

void EngineModel::advance_decode(uint32_t k, double jitter_factor, DecodeStretch& out) {
  ++version_;
  // k <= pure_decode_steps() is the caller's to keep (recounting it here would double
  // the cost of a stretch); a stretch past the KV blocks still fails ensure_blocks.
  TIDAL_CHECK(k >= 1);
  out.events.clear();
  out.steps = k;
  out.seqs = static_cast<uint32_t>(running_.size());
  const double jitter = jitter_factor >= 0 ? jitter_factor : draw_stretch_jitter(k);
  out.duration = from_ms(to_ms(pure_decode_duration(k)) * jitter);
  counters_.steps += k;
  done_.clear();
  for (Seq* sp : running_) {
    Seq& s = *sp;
    const SeqId id = s.req.id;
    TIDAL_CHECK(ensure_blocks(s, s.computed + k));
    s.computed += k;
    s.generated += k;
    counters_.generation_tokens += k;
    if (s.generated >= s.req.max_tokens) {
      out.events.push_back({id, s.generated - 1, true, s.cached_tokens});
      done_.push_back(id);
    }
  }
  for (SeqId id : done_) {
    ++counters_.finished;
    cancel(id);
  }
  ++version_;  // again: the duration above took a memo of the state before the stretch
}

}  // namespace tidal::engine
