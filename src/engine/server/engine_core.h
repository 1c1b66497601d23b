// Runs the pure EngineModel in real time on one event loop: a stepper coroutine takes
// a step, waits its duration (divided by the time scale), then hands each token to the
// request that owns it. Single-threaded by design: every call happens on `loop`.
#pragma once

#include <deque>
#include <memory>
#include <unordered_map>

#include "engine/model/engine_model.h"
#include "http/types.h"

namespace tidal::engine {

namespace asio = boost::asio;

class EngineCore;

// The token feed of one request. Destroying it before the last token cancels the
// sequence and frees its slot and KV blocks.
class TokenStream {
 public:
  TokenStream(EngineCore& core, SeqId id, asio::any_io_executor ex) : core_(core), id_(id), timer_(ex) {}
  ~TokenStream();
  TokenStream(const TokenStream&) = delete;
  TokenStream& operator=(const TokenStream&) = delete;

  // The next token, or nullopt when the handler was cancelled (client gone).
  http::awaitable<std::optional<TokenEvent>> next();
  [[nodiscard]] SeqId id() const { return id_; }

 private:
  friend class EngineCore;
  void push(const TokenEvent& ev);

  EngineCore& core_;
  SeqId id_;
  asio::steady_timer timer_;
  std::deque<TokenEvent> pending_;
  bool woken_ = false;
  bool finished_ = false;
};

struct CoreOptions {
  double time_scale = 1.0;  // model seconds per wall second; REQUIRES: > 0
  uint64_t seed = 1;
  bool prefix_caching = true;
};

class EngineCore {
 public:
  EngineCore(asio::io_context& loop, const EnginePreset& preset, CoreOptions opts);

  // Queues a request; REQUIRES: prompt + max_tokens <= preset max_model_len.
  std::unique_ptr<TokenStream> submit(uint32_t prompt_tokens, uint32_t max_tokens,
                                      std::vector<BlockHash> prefix_hashes);
  // Runs until the loop stops.
  http::awaitable<void> run();

  [[nodiscard]] const EngineModel& model() const { return model_; }
  [[nodiscard]] uint64_t steps() const { return model_.counters().steps; }
  // Busy sequences in the last step (llama.cpp's n_busy_slots_per_decode).
  [[nodiscard]] uint32_t last_step_seqs() const { return last_step_seqs_; }

 private:
  friend class TokenStream;
  void cancel(SeqId id);

  asio::io_context& loop_;
  EngineModel model_;
  CoreOptions opts_;
  asio::steady_timer idle_;
  asio::steady_timer step_timer_;
  std::unordered_map<SeqId, TokenStream*> streams_;
  SeqId next_id_ = 1;
  uint32_t last_step_seqs_ = 0;
};

}  // namespace tidal::engine
