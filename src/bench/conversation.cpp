#include "bench/conversation.h"

#include <boost/json.hpp>

#include <algorithm>

#include "common/tokens.h"
#include "workload/synthetic_text.h"

namespace tidal::bench {

Conversation::Conversation(uint32_t user, const ConversationOptions& opts, uint64_t seed)
    : session_("user-" + std::to_string(user)),
      system_(workload::synthetic_text(0x5157e3 + user % std::max(1u, opts.system_prompts), opts.system_tokens)),
      seed_(seed * 1'000'003 + user) {}

std::string Conversation::next_body(const std::string& model, bool stream, uint32_t user_tokens, uint32_t max_tokens) {
  messages_.emplace_back("user", workload::synthetic_text(seed_ * 7919 + turn_, user_tokens));
  ++turn_;
  boost::json::array msgs;
  msgs.push_back(boost::json::object{{"role", "system"}, {"content", system_}});
  uint32_t tokens = estimate_tokens(system_);
  for (const auto& [role, content] : messages_) {
    msgs.push_back(boost::json::object{{"role", role}, {"content", content}});
    tokens += estimate_tokens(content);
  }
  prompt_tokens_ = tokens;
  boost::json::object body;
  if (!model.empty()) body["model"] = model;
  body["messages"] = std::move(msgs);
  body["max_tokens"] = max_tokens;
  body["ignore_eos"] = true;
  body["user"] = session_;
  if (stream) {
    body["stream"] = true;
    body["stream_options"] = boost::json::object{{"include_usage", true}};
  }
  return boost::json::serialize(body);
}

void Conversation::add_reply(std::string reply) { messages_.emplace_back("assistant", std::move(reply)); }

}  // namespace tidal::bench
