#include "openai/request.h"

#include <boost/container/small_vector.hpp>
#include <boost/json/basic_parser_impl.hpp>

#include "common/tokens.h"

// The body is read with Boost.JSON's event parser (SAX): one pass, no tree, no
// allocation but the extracted strings. The parser checks the syntax exactly as
// json::parse does (same error codes and messages); the handler keeps the few fields
// tidal acts on and what is wrong with each, and the checks run at the end in a fixed
// order, so a body with several faults gets the same error whatever its key order. As
// json::parse does, the last of duplicate keys wins.
namespace tidal::openai {
namespace json = boost::json;
namespace {

Error invalid(std::string message, std::string param = {}) {
  return make_error(ErrorKind::kInvalidRequest, std::move(message), std::move(param));
}

// "'key' rest", built by appending: GCC 12 at -O3 flags `"'" + std::string(...)` with a
// false -Wrestrict (GCC bug 105329).
std::string quoted(std::string_view key, std::string_view rest) {
  std::string s = "'";
  s.append(key).append("' ").append(rest);
  return s;
}

std::string indexed(std::string_view base, size_t index, std::string_view suffix = {}) {
  std::string s(base);
  s.append("[").append(std::to_string(index)).append("]").append(suffix);
  return s;
}

// The kind of a JSON value, as the checks need it.
enum class Kind : uint8_t { kNone, kString, kInt, kUint, kDouble, kBool, kNull, kObject, kArray };

// The keys read, per level of the document.
enum class Key : uint8_t {
  kOther, kModel, kMessages, kPrompt, kMaxTokens, kMaxCompletionTokens, kN, kStream, kStreamOptions, kUser,
  kRole, kContent, kText, kIncludeUsage,
};

// What a container is, by where it stands.
enum class Ctx : uint8_t { kRoot, kMessages, kMessage, kParts, kPart, kPromptArray, kStreamOptions, kSkip };

// An integer field (max_tokens, max_completion_tokens, n): its last value's kind and value.
struct IntField {
  Kind kind = Kind::kNone;  // kNone: absent
  int64_t value = 0;        // kInt, or kUint clamped to INT64_MAX
};

class Reader {
 public:
  // Boost.JSON's limits on what the parser hands over.
  static constexpr std::size_t max_object_size = std::size_t(-1);
  static constexpr std::size_t max_array_size = std::size_t(-1);
  static constexpr std::size_t max_key_size = std::size_t(-1);
  static constexpr std::size_t max_string_size = std::size_t(-1);

  explicit Reader(Endpoint endpoint) : endpoint_(endpoint) {}

  bool on_document_begin(json::error_code&) { return true; }
  bool on_document_end(json::error_code&) { return true; }
  bool on_object_begin(json::error_code&) { return begin(Kind::kObject); }
  bool on_object_end(std::size_t, json::error_code&) { return end(); }
  bool on_array_begin(json::error_code&) { return begin(Kind::kArray); }
  bool on_array_end(std::size_t, json::error_code&) { return end(); }
  bool on_key_part(json::string_view s, std::size_t, json::error_code&) {
    key_buf_.append(s.data(), s.size());
    return true;
  }
  bool on_key(json::string_view s, std::size_t, json::error_code&) {
    if (!key_buf_.empty()) {
      key_buf_.append(s.data(), s.size());
      on_key_name(key_buf_);
      key_buf_.clear();
    } else {
      on_key_name(std::string_view(s.data(), s.size()));
    }
    return true;
  }
  bool on_string_part(json::string_view s, std::size_t, json::error_code&) {
    string_piece(std::string_view(s.data(), s.size()), !in_string_);
    in_string_ = true;
    return true;
  }
  bool on_string(json::string_view s, std::size_t, json::error_code&) {
    string_piece(std::string_view(s.data(), s.size()), !in_string_);
    in_string_ = false;
    return true;
  }
  bool on_number_part(json::string_view, json::error_code&) { return true; }
  bool on_int64(int64_t v, json::string_view, json::error_code&) {
    number(Kind::kInt, v, v);
    return true;
  }
  bool on_uint64(uint64_t v, json::string_view, json::error_code&) {
    number(Kind::kUint, static_cast<int64_t>(std::min<uint64_t>(v, INT64_MAX)), static_cast<int64_t>(v));
    return true;
  }
  bool on_double(double, json::string_view, json::error_code&) {
    scalar(Kind::kDouble);
    return true;
  }
  bool on_bool(bool b, json::error_code&) {
    scalar(Kind::kBool, b);
    return true;
  }
  bool on_null(json::error_code&) {
    scalar(Kind::kNull);
    return true;
  }
  bool on_comment_part(json::string_view, json::error_code&) { return true; }
  bool on_comment(json::string_view, json::error_code&) { return true; }

  // After a successful parse: the request, or the first fault in the order of checks.
  Result<CompletionRequest> finish();

 private:
  struct Level {
    Ctx ctx;
    Key key = Key::kOther;  // objects: the key whose value comes next
  };

  // The key just read names the next value of the object on top.
  void on_key_name(std::string_view k) {
    Level& top = stack_.back();
    switch (top.ctx) {
      case Ctx::kRoot: top.key = root_key(k); break;
      case Ctx::kMessage:
        top.key = k == "role" ? Key::kRole : k == "content" ? Key::kContent : Key::kOther;
        if (top.key == Key::kContent) {
          // A later "content" replaces an earlier one.
          out_.prompt_text.resize(content_at_);
          content_ = Kind::kNone;
          parts_bad_ = false;
        }
        break;
      case Ctx::kPart:
        top.key = k == "text" ? Key::kText : Key::kOther;
        if (top.key == Key::kText) out_.prompt_text.resize(part_at_);  // a later "text" replaces one
        break;
      case Ctx::kStreamOptions: top.key = k == "include_usage" ? Key::kIncludeUsage : Key::kOther; break;
      default: top.key = Key::kOther; break;
    }
  }

  Key root_key(std::string_view k) const {
    if (k == "model") return Key::kModel;
    if (k == "messages") return endpoint_ == Endpoint::kChat ? Key::kMessages : Key::kOther;
    if (k == "prompt") return endpoint_ == Endpoint::kCompletion ? Key::kPrompt : Key::kOther;
    if (k == "max_tokens") return Key::kMaxTokens;
    if (k == "max_completion_tokens") return Key::kMaxCompletionTokens;
    if (k == "n") return Key::kN;
    if (k == "stream") return Key::kStream;
    if (k == "stream_options") return Key::kStreamOptions;
    if (k == "user") return Key::kUser;
    return Key::kOther;
  }

  // A value starts (any kind); containers return the context they open.
  Ctx value(Kind kind) {
    if (stack_.empty()) {  // the document's root
      root_object_ = kind == Kind::kObject;
      return kind == Kind::kObject ? Ctx::kRoot : Ctx::kSkip;
    }
    Level& top = stack_.back();
    switch (top.ctx) {
      case Ctx::kRoot: return root_value(top.key, kind);
      case Ctx::kMessages: {
        // One message: an object, else the first fault of the array.
        const size_t index = messages_++;
        if (index > 0) out_.prompt_text.push_back('\n');
        if (kind == Kind::kObject) {
          role_ = Kind::kNone;
          content_ = Kind::kNone;
          parts_bad_ = false;
          content_at_ = out_.prompt_text.size();
          message_index_ = index;
          return Ctx::kMessage;
        }
        fault(messages_fault_, "each message must be an object", indexed("messages", index));
        return Ctx::kSkip;
      }
      case Ctx::kMessage:
        if (top.key == Key::kRole) role_ = kind;
        if (top.key == Key::kContent) {
          content_ = kind;
          if (kind == Kind::kArray) return Ctx::kParts;
        }
        return Ctx::kSkip;
      case Ctx::kParts:
        if (kind != Kind::kObject) {
          parts_bad_ = true;
          return Ctx::kSkip;
        }
        part_at_ = out_.prompt_text.size();
        return Ctx::kPart;
      case Ctx::kPart:
        if (top.key == Key::kText && kind != Kind::kString) out_.prompt_text.resize(part_at_);
        text_wanted_ = top.key == Key::kText && kind == Kind::kString;
        return Ctx::kSkip;
      case Ctx::kPromptArray:
        if (prompt_items_++ == 0) prompt_first_ = kind;
        if (kind != Kind::kInt && kind != Kind::kUint) prompt_non_integer_ = true;
        return Ctx::kSkip;
      case Ctx::kStreamOptions:
        if (top.key == Key::kIncludeUsage) include_usage_ = kind;
        return Ctx::kSkip;
      case Ctx::kSkip: return Ctx::kSkip;
    }
    return Ctx::kSkip;
  }

  Ctx root_value(Key key, Kind kind) {
    switch (key) {
      case Key::kModel:
        model_ = kind;
        out_.model.clear();
        break;
      case Key::kMessages:
        messages_kind_ = kind;
        messages_ = 0;
        messages_fault_.reset();
        out_.prompt_text.clear();
        if (kind == Kind::kArray) return Ctx::kMessages;
        break;
      case Key::kPrompt:
        prompt_kind_ = kind;
        prompt_items_ = 0;
        prompt_first_ = Kind::kNone;
        prompt_non_integer_ = false;
        out_.prompt_text.clear();
        if (kind == Kind::kArray) return Ctx::kPromptArray;
        break;
      case Key::kStreamOptions:
        stream_options_ = kind;
        include_usage_ = Kind::kNone;
        if (kind == Kind::kObject) return Ctx::kStreamOptions;
        break;
      case Key::kStream: stream_ = kind; break;
      case Key::kUser:
        user_ = kind;
        out_.user.clear();
        break;
      case Key::kMaxTokens: max_tokens_ = IntField{kind}; break;
      case Key::kMaxCompletionTokens: max_completion_tokens_ = IntField{kind}; break;
      case Key::kN: n_ = IntField{kind}; break;
      default: break;
    }
    return Ctx::kSkip;
  }

  bool begin(Kind kind) {
    stack_.push_back(Level{value(kind)});
    return true;
  }

  bool end() {
    const Ctx ended = stack_.back().ctx;
    stack_.pop_back();
    if (ended == Ctx::kMessage) end_message();
    return true;
  }

  // A message object ended: its role and its content, checked as the fields come.
  void end_message() {
    if (messages_fault_) return;
    if (role_ != Kind::kString) {
      fault(messages_fault_, "each message needs a string 'role'", indexed("messages", message_index_, ".role"));
    } else if (content_ != Kind::kNone && content_ != Kind::kNull && content_ != Kind::kString &&
               content_ != Kind::kArray) {
      fault(messages_fault_, "'content' must be a string or an array of parts",
            indexed("messages", message_index_, ".content"));
    } else if (content_ == Kind::kArray && parts_bad_) {
      fault(messages_fault_, "each content part must be an object", indexed("messages", message_index_, ".content"));
    }
  }

  void scalar(Kind kind, bool b = false) {
    value(kind);
    if (stack_.empty()) return;
    const Level& top = stack_.back();
    if (top.ctx == Ctx::kRoot && top.key == Key::kStream) stream_value_ = b;
    if (top.ctx == Ctx::kStreamOptions && top.key == Key::kIncludeUsage) include_usage_value_ = b;
  }

  // `clamped`: the value for the integer fields; `as_id`: the value as a token id.
  void number(Kind kind, int64_t clamped, int64_t as_id) {
    value(kind);
    if (stack_.empty()) return;
    const Level& top = stack_.back();
    if (top.ctx == Ctx::kRoot) {
      IntField* f = top.key == Key::kMaxTokens             ? &max_tokens_
                    : top.key == Key::kMaxCompletionTokens ? &max_completion_tokens_
                    : top.key == Key::kN                   ? &n_
                                                           : nullptr;
      if (f) f->value = clamped;
    } else if (top.ctx == Ctx::kPromptArray && prompt_first_ != Kind::kString) {
      // Token ids: the ids stand in for the text.
      out_.prompt_text.append(std::to_string(as_id));
      out_.prompt_text.push_back(' ');
    }
  }

  // A string value, in one piece or several (`first`: the value starts here).
  void string_piece(std::string_view s, bool first) {
    if (first) {
      if (stack_.empty()) {
        value(Kind::kString);
        return;
      }
      const Level& top = stack_.back();
      target_ = nullptr;
      if (top.ctx == Ctx::kRoot && top.key == Key::kModel) target_ = &out_.model;
      if (top.ctx == Ctx::kRoot && top.key == Key::kUser) target_ = &out_.user;
      if (top.ctx == Ctx::kRoot && top.key == Key::kPrompt) target_ = &out_.prompt_text;
      if (top.ctx == Ctx::kMessage && top.key == Key::kContent) target_ = &out_.prompt_text;
      const bool first_prompt_item = top.ctx == Ctx::kPromptArray && prompt_items_ == 0;
      value(Kind::kString);
      if (first_prompt_item) target_ = &out_.prompt_text;
      if (top.ctx == Ctx::kPart && text_wanted_) target_ = &out_.prompt_text;
    }
    if (target_) target_->append(s);
  }

  static void fault(std::optional<Error>& slot, std::string message, std::string param) {
    if (!slot) slot = invalid(std::move(message), std::move(param));
  }

  Endpoint endpoint_;
  CompletionRequest out_;
  boost::container::small_vector<Level, 8> stack_;
  std::string key_buf_;            // a key that came in parts
  std::string* target_ = nullptr;  // where the string being read goes, if anywhere
  bool in_string_ = false;         // a string value came in part
  bool root_object_ = false;
  Kind model_ = Kind::kNone, user_ = Kind::kNone, stream_ = Kind::kNone, stream_options_ = Kind::kNone;
  Kind include_usage_ = Kind::kNone;
  bool stream_value_ = false, include_usage_value_ = false;
  IntField max_tokens_, max_completion_tokens_, n_;
  // messages: the array's kind, messages seen, the first fault; the message being read
  Kind messages_kind_ = Kind::kNone;
  size_t messages_ = 0, message_index_ = 0;
  std::optional<Error> messages_fault_;
  Kind role_ = Kind::kNone, content_ = Kind::kNone;
  bool parts_bad_ = false, text_wanted_ = false;
  size_t content_at_ = 0, part_at_ = 0;  // where the message's content / the part's text starts in prompt_text
  // prompt (completions)
  Kind prompt_kind_ = Kind::kNone, prompt_first_ = Kind::kNone;
  size_t prompt_items_ = 0;
  bool prompt_non_integer_ = false;
};

// max_tokens and the like: an integer from 1 to 10 million.
std::optional<Error> check_positive(const IntField& f, std::string_view key, std::optional<uint32_t>& out) {
  if (f.kind == Kind::kNone || f.kind == Kind::kNull) return std::nullopt;
  if (f.kind != Kind::kInt && f.kind != Kind::kUint) return invalid(quoted(key, "must be an integer"), std::string(key));
  if (f.value < 1 || f.value > 10'000'000) return invalid(quoted(key, "must be >= 1"), std::string(key));
  out = static_cast<uint32_t>(f.value);
  return std::nullopt;
}

Result<CompletionRequest> Reader::finish() {
  if (!root_object_) return invalid("request body must be a JSON object");
  out_.endpoint = endpoint_;
  if (model_ != Kind::kNone && model_ != Kind::kString) return invalid("'model' must be a string", "model");
  if (endpoint_ == Endpoint::kChat) {
    if (messages_kind_ == Kind::kNone) return invalid("'messages' is a required property", "messages");
    if (messages_kind_ != Kind::kArray || messages_ == 0) return invalid("'messages' must be a non-empty array", "messages");
    if (messages_fault_) return *messages_fault_;
    out_.prompt_tokens = std::max<uint32_t>(1, estimate_tokens(out_.prompt_text));
  } else {
    if (prompt_kind_ == Kind::kNone) return invalid("'prompt' is a required property", "prompt");
    if (prompt_kind_ == Kind::kString) {
      out_.prompt_tokens = std::max<uint32_t>(1, estimate_tokens(out_.prompt_text));
    } else if (prompt_kind_ == Kind::kArray) {
      if (prompt_items_ == 0) return invalid("'prompt' must not be empty", "prompt");
      if (prompt_first_ == Kind::kString) {
        if (prompt_items_ != 1) return invalid("batched prompts are not supported; send one prompt per request", "prompt");
        out_.prompt_tokens = std::max<uint32_t>(1, estimate_tokens(out_.prompt_text));
      } else if (prompt_first_ == Kind::kInt || prompt_first_ == Kind::kUint || prompt_first_ == Kind::kDouble) {
        if (prompt_non_integer_) return invalid("token-id prompts must be integers", "prompt");
        out_.prompt_tokens = static_cast<uint32_t>(prompt_items_);
      } else {
        return invalid("'prompt' must be a string, an array of one string, or an array of token ids", "prompt");
      }
    } else {
      return invalid("'prompt' must be a string or an array", "prompt");
    }
  }
  if (auto e = check_positive(max_tokens_, "max_tokens", out_.max_tokens)) return *e;
  if (auto e = check_positive(max_completion_tokens_, "max_completion_tokens", out_.max_tokens)) return *e;
  if (n_.kind != Kind::kNone && n_.kind != Kind::kNull && (n_.kind != Kind::kInt || n_.value != 1)) {
    return invalid("only n = 1 is supported", "n");
  }
  if (stream_ != Kind::kNone && stream_ != Kind::kNull) {
    if (stream_ != Kind::kBool) return invalid("'stream' must be a boolean", "stream");
    out_.stream = stream_value_;
  }
  if (stream_options_ != Kind::kNone && stream_options_ != Kind::kNull) {
    if (stream_options_ != Kind::kObject) return invalid("'stream_options' must be an object", "stream_options");
    if (include_usage_ != Kind::kNone && include_usage_ != Kind::kNull) {
      if (include_usage_ != Kind::kBool) {
        return invalid("'include_usage' must be a boolean", "stream_options.include_usage");
      }
      out_.include_usage = include_usage_value_;
    }
  }
  if (user_ != Kind::kString) out_.user.clear();
  return std::move(out_);
}

}  // namespace

Result<CompletionRequest> parse_completion_request(Endpoint endpoint, std::string_view body) {
  json::basic_parser<Reader> parser(json::parse_options{}, endpoint);
  json::error_code ec;
  const size_t n = parser.write_some(false, body.data(), body.size(), ec);
  if (!ec && n < body.size()) ec = json::error::extra_data;  // as json::parse: one value, nothing after it
  if (ec) return invalid("request body is not valid JSON: " + ec.message());
  return parser.handler().finish();
}

}  // namespace tidal::openai
