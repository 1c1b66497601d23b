// The multi-turn chat workload of `tidal bench --conversations N` (for cache-aware
// routing): N users, each holding a conversation of T turns that starts with one of a
// few shared system prompts; every turn resends the whole history (system prompt, the
// earlier user messages and the assistant's actual replies) plus a new user message,
// then the user thinks (exponential, mean think_s) before the next turn. User-centric
// pacing: a user's next turn waits for the previous reply, as in inference-perf.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace tidal::bench {

struct ConversationOptions {
  uint32_t users = 0;            // 0: not a conversation workload
  uint32_t turns = 5;
  uint32_t system_tokens = 1000;  // length of each shared system prompt
  uint32_t system_prompts = 1;    // distinct system prompts; users take them in turn
  double think_s = 2.0;           // mean think time between a reply and the next turn
};

class Conversation {
 public:
  Conversation(uint32_t user, const ConversationOptions& opts, uint64_t seed);

  // The JSON body of the next turn: the history plus a new user message of
  // `user_tokens` tokens, asking for `max_tokens`.
  [[nodiscard]] std::string next_body(const std::string& model, bool stream, uint32_t user_tokens, uint32_t max_tokens);
  // The assistant's reply to the last turn (appended to the history).
  void add_reply(std::string reply);
  [[nodiscard]] uint32_t prompt_tokens() const { return prompt_tokens_; }  // estimate of the last body

 private:
  std::string session_;
  std::string system_;
  std::vector<std::pair<std::string, std::string>> messages_;  // role, content
  uint64_t seed_;
  uint32_t turn_ = 0;
  uint32_t prompt_tokens_ = 0;
};

}  // namespace tidal::bench
