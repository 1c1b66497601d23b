#include "bench/load_generator.h"

#include <unistd.h>

#include <boost/json.hpp>

#include <deque>

#include "http/client.h"
#include "http/sse.h"

namespace tidal::bench {
namespace {

namespace json = boost::json;
namespace bhttp = http::bhttp;
using SteadyClock = std::chrono::steady_clock;

double ms_since(SteadyClock::time_point t) {
  return std::chrono::duration<double, std::milli>(SteadyClock::now() - t).count();
}

std::string request_body(const BenchOptions& o, const PlannedRequest& p) {
  json::object body;
  if (!o.model.empty()) body["model"] = o.model;
  if (o.endpoint == "completions") {
    body["prompt"] = p.prompt;
  } else {
    body["messages"] = json::array{json::object{{"role", "user"}, {"content", p.prompt}}};
  }
  body["max_tokens"] = p.max_tokens;
  body["ignore_eos"] = true;  // vLLM: generate exactly max_tokens
  if (o.stream) {
    body["stream"] = true;
    body["stream_options"] = json::object{{"include_usage", true}};
  }
  return json::serialize(body);
}

// Content text of a chunk or completion object ("" when none).
std::string_view content_of(const json::object& o, bool streamed) {
  const auto* choices = o.if_contains("choices");
  if (!choices || !choices->is_array() || choices->get_array().empty()) return {};
  const auto& c = choices->get_array()[0];
  if (!c.is_object()) return {};
  const auto& co = c.get_object();
  if (const auto* text = co.if_contains("text"); text && text->is_string()) return text->get_string();
  const auto* holder = co.if_contains(streamed ? "delta" : "message");
  if (!holder || !holder->is_object()) return {};
  const auto* content = holder->get_object().if_contains("content");
  if (content && content->is_string()) return content->get_string();
  return {};
}

void read_usage(const json::object& o, RequestResult& r) {
  const auto* usage = o.if_contains("usage");
  if (!usage || !usage->is_object()) return;
  const auto& u = usage->get_object();
  if (const auto* p = u.if_contains("prompt_tokens"); p && p->is_number()) r.prompt_tokens = p->to_number<uint32_t>();
  if (const auto* c = u.if_contains("completion_tokens"); c && c->is_number()) r.output_tokens = c->to_number<uint32_t>();
  if (const auto* d = u.if_contains("prompt_tokens_details"); d && d->is_object()) {
    if (const auto* ct = d->get_object().if_contains("cached_tokens"); ct && ct->is_number()) {
      r.cached_tokens = ct->to_number<uint32_t>();
    }
  }
}

class Runner {
 public:
  Runner(const BenchOptions& o, http::Url url, http::tcp::endpoint ep)
      : opts_(o), url_(std::move(url)), ep_(ep), pool_(ctx_.get_executor(), http::PoolOptions{.max_idle_per_endpoint = 100'000}) {}

  Result<RunResult> run(RequestSource source) {
    source_ = std::move(source);
    start_ = SteadyClock::now();
    if (opts_.conversation.users > 0) {
      for (uint32_t u = 0; u < opts_.conversation.users; ++u) spawn(conversation(u));
    } else if (opts_.concurrency > 0) {
      for (uint32_t i = 0; i < opts_.concurrency; ++i) spawn(worker());
    } else {
      spawn(dispatcher());
    }
    if (opts_.progress) spawn(progress());
    ctx_.run();
    RunResult out;
    out.duration_s = std::chrono::duration<double>(end_ - start_).count();
    out.results.assign(results_.begin(), results_.end());
    if (opts_.progress) std::fprintf(stderr, "\r%80s\r", "");
    return out;
  }

 private:
  template <class A>
  void spawn(A&& a) {
    ++live_;
    http::asio::co_spawn(ctx_, std::forward<A>(a), [this](std::exception_ptr) {
      if (--live_ == 0 || (live_ == 1 && opts_.progress && !done_)) finish();
    });
  }
  void finish() {
    if (done_) return;
    done_ = true;
    end_ = SteadyClock::now();
    if (ticker_) ticker_->cancel();
  }
  bool past_duration() const {
    return opts_.source.duration_s > 0 &&
           std::chrono::duration<double>(SteadyClock::now() - start_).count() >= opts_.source.duration_s;
  }

  http::awaitable<void> worker() {
    while (!past_duration()) {
      auto p = source_.next();
      if (!p) break;
      co_await one(std::move(*p));
    }
  }

  // One user's multi-turn chat: users start spread over the first think time; each
  // turn waits for the previous reply and a think time.
  http::awaitable<void> conversation(uint32_t user) {
    const auto& co = opts_.conversation;
    Conversation conv(user, co, opts_.source.seed);
    Rng rng(opts_.source.seed * 7919 + user);
    http::asio::steady_timer timer(ctx_);
    auto pause = [&](double s) -> http::awaitable<void> {
      timer.expires_after(std::chrono::duration_cast<SteadyClock::duration>(std::chrono::duration<double>(s)));
      co_await timer.async_wait(http::use_tuple);
    };
    co_await pause(co.think_s > 0 ? rng.uniform() * co.think_s : 0);
    for (uint32_t t = 0; t < co.turns; ++t) {
      if (past_duration() || (opts_.source.requests && issued_ >= opts_.source.requests)) break;
      ++issued_;
      PlannedRequest p;
      p.max_tokens = opts_.source.output.sample_count(rng);
      p.body = conv.next_body(opts_.model, opts_.stream, opts_.source.input.sample_count(rng), p.max_tokens);
      p.input_tokens = conv.prompt_tokens();
      p.session = static_cast<int>(user);
      RequestResult& r = *co_await one(std::move(p));
      if (!r.ok) break;  // a failed turn ends the conversation (its history is unknown)
      conv.add_reply(std::move(r.reply));
      r.reply.clear();
      if (t + 1 < co.turns && co.think_s > 0) co_await pause(rng.exponential(co.think_s));
    }
  }

  http::awaitable<void> dispatcher() {
    http::asio::steady_timer timer(ctx_);
    while (auto p = source_.next()) {
      timer.expires_at(start_ + std::chrono::duration_cast<SteadyClock::duration>(std::chrono::duration<double>(p->at_s)));
      co_await timer.async_wait(http::use_tuple);
      spawn(send(std::move(*p)));
    }
  }

  http::awaitable<void> progress() {
    http::asio::steady_timer timer(ctx_);
    ticker_ = &timer;
    while (!done_) {
      const size_t done = completed_;
      const size_t total = opts_.source.requests;
      std::fprintf(stderr, "\r[bench] %6.1f s  %zu done  %zu in flight%s", 
                   std::chrono::duration<double>(SteadyClock::now() - start_).count(), done, in_flight_,
                   total ? (" of " + std::to_string(total)).c_str() : "");
      timer.expires_after(std::chrono::milliseconds(250));
      co_await timer.async_wait(http::use_tuple);
    }
    ticker_ = nullptr;
  }

  http::awaitable<RequestResult*> one(PlannedRequest p) {
    RequestResult& r = results_.emplace_back();
    r.input_tokens = p.input_tokens;
    r.session = p.session;
    const auto t0 = SteadyClock::now();
    r.start_s = std::chrono::duration<double>(t0 - start_).count();
    ++in_flight_;
    co_await execute(p, r, t0);
    --in_flight_;
    ++completed_;
    co_return &r;
  }
  http::awaitable<void> send(PlannedRequest p) { co_await one(std::move(p)); }

  http::awaitable<void> execute(const PlannedRequest& p, RequestResult& r, SteadyClock::time_point t0) {
    const auto timeout = std::chrono::milliseconds(static_cast<int64_t>(opts_.timeout_s * 1000));
    http::Request req{bhttp::verb::post, url_.path == "/" ? (opts_.endpoint == "completions" ? "/v1/completions" : "/v1/chat/completions") : url_.path, 11};
    req.set(bhttp::field::host, url_.authority());
    req.set(bhttp::field::content_type, "application/json");
    req.set(bhttp::field::user_agent, "tidal-bench");
    req.body() = p.body.empty() ? request_body(opts_, p) : p.body;
    if (p.session >= 0) req.set("x-session-id", "user-" + std::to_string(p.session));
    const bool keep_reply = p.session >= 0;
    req.keep_alive(true);
    req.prepare_payload();
    const std::string bytes = http::serialize(req);

    for (int attempt = 0; attempt < 2; ++attempt) {
      std::pair<http::error_code, http::ConnectionPtr> got;
    if (attempt == 0) {
      got = co_await pool_.acquire(ep_, timeout);
    } else {
      got = co_await pool_.connect(ep_, timeout);  // GCC 12: no co_await inside ?:
    }
    auto& [cec, conn] = got;
      if (cec) {
        r.error = cec == http::asio::error::connection_refused ? "connect_refused" : "connect";
        co_return;
      }
      const bool reused = conn->reused;
      http::ResponseReader reader;
      http::error_code ec = co_await conn->stream.write(bytes, http::Stream::after(timeout));
      if (!ec) ec = co_await reader.read_header(*conn, timeout);
      if (ec && reused) continue;  // stale keep-alive connection
      if (ec) {
        r.error = ec == http::beast::error::timeout ? "timeout" : "reset";
        co_return;
      }
      r.status = reader.status();
      std::string piece;
      if (r.status != 200) {
        std::string body;
        co_await reader.read_all(*conn, body, timeout);
        r.error = "http_" + std::to_string(r.status);
        conn->reusable = reader.keep_alive() && reader.done();
        pool_.release(std::move(conn));
        co_return;
      }
      if (!opts_.stream) {
        std::string body;
        ec = co_await reader.read_all(*conn, body, timeout);
        if (ec) {
          r.error = ec == http::beast::error::timeout ? "timeout" : "truncated";
          co_return;
        }
        r.e2e_ms = r.ttft_ms = ms_since(t0);
        boost::system::error_code jec;
        auto v = json::parse(body, jec);
        if (jec || !v.is_object()) {
          r.error = "bad_json";
          co_return;
        }
        read_usage(v.get_object(), r);
        if (keep_reply) r.reply = std::string(content_of(v.get_object(), false));
        r.ok = true;
      } else {
        bool done = false, bad = false;
        uint32_t chunks = 0;
        auto last = t0;
        http::SseParser sse([&](std::string_view data) {
          if (data == "[DONE]") {
            done = true;
            return;
          }
          boost::system::error_code jec;
          auto v = json::parse(data, jec);
          if (jec || !v.is_object()) {
            bad = true;
            return;
          }
          const auto& o = v.get_object();
          if (o.contains("error")) {
            bad = true;
            return;
          }
          read_usage(o, r);
          const std::string_view text = content_of(o, true);
          if (text.empty()) return;
          if (keep_reply) r.reply += text;
          const auto now = SteadyClock::now();
          if (chunks == 0) {
            r.ttft_ms = std::chrono::duration<double, std::milli>(now - t0).count();
          } else {
            r.itl_ms.push_back(std::chrono::duration<double, std::milli>(now - last).count());
          }
          last = now;
          ++chunks;
        });
        while (!reader.done()) {
          ec = co_await reader.read_some(*conn, piece, timeout);
          if (ec) break;
          sse.feed(piece);
        }
        r.e2e_ms = ms_since(t0);
        if (ec) {
          r.error = ec == http::beast::error::timeout ? "timeout" : "truncated";
          co_return;
        }
        if (bad) {
          r.error = "bad_chunk";
          co_return;
        }
        if (!done || sse.pending() != 0) {
          r.error = "truncated";
          co_return;
        }
        if (r.output_tokens == 0) r.output_tokens = chunks;
        if (chunks == 0) {
          r.error = "empty_stream";
          co_return;
        }
        r.ok = true;
      }
      conn->reusable = reader.keep_alive();
      pool_.release(std::move(conn));
      co_return;
    }
    r.error = "reset";
  }

  const BenchOptions& opts_;
  http::Url url_;
  http::tcp::endpoint ep_;
  http::asio::io_context ctx_{1};
  http::ConnectionPool pool_;
  RequestSource source_ = *RequestSource::create({});
  std::deque<RequestResult> results_;
  SteadyClock::time_point start_, end_;
  size_t live_ = 0, in_flight_ = 0, completed_ = 0;
  uint64_t issued_ = 0;  // conversation turns sent (--requests bounds them)
  bool done_ = false;
  http::asio::steady_timer* ticker_ = nullptr;
};

}  // namespace

Result<RunResult> run_load(const BenchOptions& opts) {
  auto url = http::parse_url(opts.url);
  if (!url) return url.error();
  if (opts.endpoint != "chat" && opts.endpoint != "completions") {
    return make_error(ErrorKind::kInvalidRequest, "endpoint must be chat or completions", "endpoint");
  }
  auto ep = http::resolve(*url);
  if (!ep) return ep.error();
  auto source = RequestSource::create(opts.source);
  if (!source) return source.error();
  Runner runner(opts, *url, *ep);
  return runner.run(std::move(*source));
}

}  // namespace tidal::bench
