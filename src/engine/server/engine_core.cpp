#include "engine/server/engine_core.h"

namespace tidal::engine {

TokenStream::~TokenStream() {
  if (!finished_) core_.cancel(id_);
}

void TokenStream::push(const TokenEvent& ev) {
  pending_.push_back(ev);
  if (ev.finished) finished_ = true;
  woken_ = true;
  timer_.cancel();
}

http::awaitable<std::optional<TokenEvent>> TokenStream::next() {
  while (pending_.empty()) {
    woken_ = false;
    timer_.expires_at(asio::steady_timer::time_point::max());
    co_await timer_.async_wait(http::use_tuple);
    if (!woken_ && pending_.empty()) co_return std::nullopt;  // cancelled from outside
  }
  TokenEvent ev = pending_.front();
  pending_.pop_front();
  co_return ev;
}

EngineCore::EngineCore(asio::io_context& loop, const EnginePreset& preset, CoreOptions opts)
    : loop_(loop),
      model_(preset, opts.seed, ModelOptions{.prefix_caching = opts.prefix_caching}),
      opts_(opts),
      idle_(loop),
      step_timer_(loop) {}

std::unique_ptr<TokenStream> EngineCore::submit(uint32_t prompt_tokens, uint32_t max_tokens,
                                                std::vector<BlockHash> prefix_hashes) {
  const SeqId id = next_id_++;
  auto stream = std::make_unique<TokenStream>(*this, id, loop_.get_executor());
  streams_[id] = stream.get();
  model_.submit(SeqRequest{id, prompt_tokens, max_tokens, std::move(prefix_hashes)});
  idle_.cancel();
  return stream;
}

void EngineCore::cancel(SeqId id) {
  streams_.erase(id);
  model_.cancel(id);
}

http::awaitable<void> EngineCore::run() {
  while (true) {
    if (!model_.has_work()) {
      last_step_seqs_ = 0;
      idle_.expires_at(asio::steady_timer::time_point::max());
      co_await idle_.async_wait(http::use_tuple);
      continue;
    }
    Step step = model_.step();
    last_step_seqs_ = static_cast<uint32_t>(model_.num_running());
    const auto wait = std::chrono::duration_cast<std::chrono::nanoseconds>(
        std::chrono::duration<double, std::nano>(static_cast<double>(step.duration.count()) / opts_.time_scale));
    step_timer_.expires_after(wait);
    co_await step_timer_.async_wait(http::use_tuple);
    for (const TokenEvent& ev : step.events) {
      auto it = streams_.find(ev.id);
      if (it == streams_.end()) continue;  // cancelled during the step
      TokenStream* s = it->second;
      if (ev.finished) streams_.erase(it);
      s->push(ev);
    }
  }
}

}  // namespace tidal::engine
