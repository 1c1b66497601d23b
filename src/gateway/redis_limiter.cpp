// Rate-limit backends: the in-process LocalLimiter, and Redis. Redis decisions run one
// atomic Lua script per request (both buckets of a key, Redis's clock) on a worker
// thread that pipelines whatever requests are waiting into one round trip; the event
// loops await the answer. Redis down: every decision is `unavailable` (the gatekeeper
// fails open or closed), logged once per state change, retried every second.
#include <hiredis/hiredis.h>

#include <chrono>
#include <cstring>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "common/config/yaml_reader.h"
#include "common/log.h"
#include "gateway/rate_limiter.h"

namespace tidal::gateway {
namespace {

using admission::LimitDecision;
using admission::RateLimits;
using SteadyClock = std::chrono::steady_clock;

double now_s() { return std::chrono::duration<double>(SteadyClock::now().time_since_epoch()).count(); }

class Local final : public RateLimiter {
 public:
  http::awaitable<BackendDecision> reserve(std::string key, RateLimits l, double tokens) override {
    co_return BackendDecision{lim_.reserve(key, l, tokens, now_s())};
  }
  void reconcile(std::string key, RateLimits l, double reserved, double used) override {
    lim_.reconcile(key, l, reserved, used, now_s());
  }
  void cancel(std::string key, RateLimits l, double reserved) override { lim_.cancel(key, l, reserved, now_s()); }

 private:
  admission::LocalLimiter lim_;
};

// KEYS: requests bucket, tokens bucket. ARGV: requests per ms, requests capacity (0: no
// limit), tokens per ms, tokens capacity (0: no limit), tokens to reserve. Buckets are
// hashes {l: level, t: ms}; they expire once they would be full again.
constexpr const char* kReserve = R"(
local now_t = redis.call('TIME')
local now = tonumber(now_t[1]) * 1000 + tonumber(now_t[2]) / 1000
local function load(key, rate, cap)
  local v = redis.call('HMGET', key, 'l', 't')
  local l, t = tonumber(v[1]), tonumber(v[2])
  if not l then return cap end
  return math.min(cap, l + math.max(0, now - t) * rate)
end
local function save(key, l, rate, cap)
  redis.call('HSET', key, 'l', tostring(l), 't', tostring(now))
  redis.call('PEXPIRE', key, math.ceil((cap - math.min(l, cap)) / rate) + 1000)
end
local rr, rc, tr, tc, need = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local rl, tl = 0, 0
if rc > 0 then rl = load(KEYS[1], rr, rc) end
if tc > 0 then tl = load(KEYS[2], tr, tc) end
local want = math.min(need, tc)
local req_ok = rc == 0 or rl >= 1
local tok_ok = tc == 0 or tl >= want
local allowed = req_ok and tok_ok
if allowed then
  if rc > 0 then rl = rl - 1; save(KEYS[1], rl, rr, rc) end
  if tc > 0 then tl = tl - need; save(KEYS[2], tl, tr, tc) end
end
local wait = 0
if not req_ok then wait = math.max(wait, (1 - rl) / rr) end
if not tok_ok then wait = math.max(wait, (want - tl) / tr) end
local reset_r, reset_t = 0, 0
if rc > 0 then reset_r = math.ceil((rc - rl) / rr) end
if tc > 0 then reset_t = math.ceil((tc - tl) / tr) end
return {allowed and 1 or 0, math.floor(rl), math.floor(tl), math.ceil(wait), reset_r, reset_t}
)";

// KEYS: requests bucket, tokens bucket. ARGV: rates and capacities as above, then the
// requests and tokens to add back (negative: charge).
constexpr const char* kAdjust = R"(
local now_t = redis.call('TIME')
local now = tonumber(now_t[1]) * 1000 + tonumber(now_t[2]) / 1000
local function adjust(key, rate, cap, delta)
  if cap <= 0 or delta == 0 then return end
  local v = redis.call('HMGET', key, 'l', 't')
  local l, t = tonumber(v[1]), tonumber(v[2])
  if not l then l = cap; t = now end
  l = math.min(cap, math.min(cap, l + math.max(0, now - t) * rate) + delta)
  redis.call('HSET', key, 'l', tostring(l), 't', tostring(now))
  redis.call('PEXPIRE', key, math.ceil((cap - math.min(l, cap)) / rate) + 1000)
end
adjust(KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[5]))
adjust(KEYS[2], tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[6]))
return 1
)";

struct Endpoint {
  std::string host;
  int port = 6379;
  std::string unix_path;
};

Result<Endpoint> parse_redis_url(const std::string& url) {
  Endpoint ep;
  if (url.starts_with("unix://")) {
    ep.unix_path = url.substr(7);
    if (ep.unix_path.empty()) return make_error(ErrorKind::kInvalidRequest, "unix:// needs a socket path", "rate_limits.redis_url");
    return ep;
  }
  if (!url.starts_with("redis://")) {
    return make_error(ErrorKind::kInvalidRequest, "must be redis://HOST:PORT or unix:///PATH, not '" + url + "'",
                      "rate_limits.redis_url");
  }
  std::string rest = url.substr(8);
  if (auto slash = rest.find('/'); slash != std::string::npos) rest.resize(slash);
  const auto colon = rest.rfind(':');
  ep.host = rest.substr(0, colon);
  if (colon != std::string::npos) {
    try {
      ep.port = std::stoi(rest.substr(colon + 1));
    } catch (...) {
      ep.port = -1;
    }
  }
  if (ep.host.empty() || ep.port <= 0 || ep.port > 65535) {
    return make_error(ErrorKind::kInvalidRequest, "bad host or port in '" + url + "'", "rate_limits.redis_url");
  }
  return ep;
}

std::string num(double v) { return std::to_string(v); }

class Redis final : public RateLimiter {
  using Reply = std::optional<std::vector<long long>>;

 public:
  Redis(RateLimitBackendConfig c, Endpoint ep) : c_(std::move(c)), ep_(std::move(ep)), worker_([this] { run(); }) {}
  ~Redis() override { stop(); }

  uint64_t failures() const override { return failures_.load(); }

  void stop() override {
    {
      std::lock_guard lock(mu_);
      if (stopping_) return;
      stopping_ = true;
    }
    cv_.notify_all();
    if (worker_.joinable()) worker_.join();
  }

  http::awaitable<BackendDecision> reserve(std::string key, RateLimits l, double tokens) override {
    auto args = script_args(key, l);
    args.push_back(num(tokens));
    if (auto local = reserve_locally(key, l, tokens)) {
      // Far from the limit: decided here; the reservation still reaches Redis (exact
      // count there), its answer refreshes the cache.
      submit(Job{true, std::move(args), [this, key, tokens](Reply r) { settle_local(key, tokens, r); }});
      ++local_decisions_;
      co_return BackendDecision{*local};
    }
    auto reply = co_await eval(true, std::move(args));
    BackendDecision out;
    if (!reply) {
      out.unavailable = true;
      co_return out;
    }
    remember(key, *reply);
    out.decision = decision_of(*reply, l);
    co_return out;
  }

  uint64_t local_decisions() const override { return local_decisions_.load(); }

 private:
  // What Redis said of a key lately, less what this gateway admitted locally since.
  struct Cached {
    std::vector<long long> reply;  // the last script answer
    SteadyClock::time_point at;
    double local_requests = 0, local_tokens = 0;  // admitted here, Redis's answer pending
  };

  void remember(const std::string& key, const std::vector<long long>& reply) {
    if (c_.local_cache_ms == 0) return;
    std::lock_guard lock(cache_mu_);
    auto& e = cache_[key];
    e.reply = reply;
    e.at = SteadyClock::now();
  }

  void settle_local(const std::string& key, double tokens, const Reply& r) {
    std::lock_guard lock(cache_mu_);
    auto it = cache_.find(key);
    if (it == cache_.end()) return;
    it->second.local_requests -= 1;
    it->second.local_tokens -= tokens;
    if (r) {
      it->second.reply = *r;
      it->second.at = SteadyClock::now();
    } else {
      cache_.erase(it);  // Redis did not answer: decide with Redis again
    }
  }

  // A decision without waiting for Redis, when its last answer (at most local_cache_ms
  // old) left at least 10 % of the limit beyond what this gateway took since.
  std::optional<LimitDecision> reserve_locally(const std::string& key, const RateLimits& l, double tokens) {
    if (c_.local_cache_ms == 0) return std::nullopt;
    std::lock_guard lock(cache_mu_);
    auto it = cache_.find(key);
    if (it == cache_.end() || it->second.reply.size() != 6 ||
        SteadyClock::now() - it->second.at > std::chrono::milliseconds(c_.local_cache_ms)) {
      return std::nullopt;
    }
    Cached& e = it->second;
    const double rem_r = static_cast<double>(e.reply[1]) - e.local_requests;
    const double rem_t = static_cast<double>(e.reply[2]) - e.local_tokens;
    if (l.requests_per_min > 0 && rem_r < 1 + std::max(1.0, 0.1 * l.requests_per_min)) return std::nullopt;
    if (l.tokens_per_min > 0 && rem_t < tokens + 0.1 * l.tokens_per_min) return std::nullopt;
    e.local_requests += 1;
    e.local_tokens += tokens;
    LimitDecision d = decision_of(e.reply, l);
    d.allowed = true;
    if (l.requests_per_min > 0) d.remaining_requests = std::max(0.0, rem_r - 1);
    if (l.tokens_per_min > 0) d.remaining_tokens = std::max(0.0, rem_t - tokens);
    return d;
  }

  static LimitDecision decision_of(const std::vector<long long>& v, const RateLimits& l) {
    LimitDecision d;
    d.allowed = v[0] == 1;
    if (l.requests_per_min > 0) {
      d.limit_requests = l.requests_per_min;
      d.remaining_requests = std::max<double>(0, static_cast<double>(v[1]));
      d.reset_requests_s = static_cast<double>(v[4]) / 1000;
    }
    if (l.tokens_per_min > 0) {
      d.limit_tokens = l.tokens_per_min;
      d.remaining_tokens = std::max<double>(0, static_cast<double>(v[2]));
      d.reset_tokens_s = static_cast<double>(v[5]) / 1000;
    }
    if (!d.allowed) {
      d.exceeded = l.requests_per_min > 0 && v[1] < 1 ? "requests" : "tokens";
      d.retry_after_s = static_cast<double>(v[3]) / 1000;
    }
    return d;
  }

 public:
  void reconcile(std::string key, RateLimits l, double reserved, double used) override {
    if (l.tokens_per_min <= 0 || reserved == used) return;
    auto args = script_args(key, l);
    args.push_back("0");
    args.push_back(num(reserved - used));
    submit(Job{false, std::move(args), nullptr});
  }

  void cancel(std::string key, RateLimits l, double reserved) override {
    auto args = script_args(key, l);
    args.push_back("1");
    args.push_back(num(reserved));
    submit(Job{false, std::move(args), nullptr});
  }

 private:
  struct Job {
    bool reserve;
    std::vector<std::string> args;  // KEYS and ARGV after the script
    std::function<void(Reply)> done;
  };

  std::vector<std::string> script_args(const std::string& key, const RateLimits& l) const {
    const double rb = l.burst > 0 ? l.burst : 1;
    return {c_.key_prefix + key + ":r",
            c_.key_prefix + key + ":t",
            num(l.requests_per_min / 60000),
            num(l.requests_per_min > 0 ? std::max(1.0, l.requests_per_min * rb) : 0),
            num(l.tokens_per_min / 60000),
            num(l.tokens_per_min * rb)};
  }

  // Completes on the awaiting coroutine's executor.
  http::awaitable<Reply> eval(bool reserve, std::vector<std::string> args) {
    return http::asio::async_initiate<decltype(http::asio::use_awaitable), void(Reply)>(
        [this, reserve, args = std::move(args)](auto handler) mutable {
          auto ex = http::asio::get_associated_executor(handler);
          auto h = std::make_shared<decltype(handler)>(std::move(handler));
          submit(Job{reserve, std::move(args), [h, ex](Reply r) {
                       http::asio::post(ex, [h, r = std::move(r)]() mutable { (*h)(std::move(r)); });
                     }});
        },
        http::asio::use_awaitable);
  }

  void submit(Job job) {
    {
      std::lock_guard lock(mu_);
      if (stopping_) {
        if (job.done) job.done(std::nullopt);
        return;
      }
      jobs_.push_back(std::move(job));
    }
    cv_.notify_one();
  }

  bool connect() {
    const auto timeout = timeval{static_cast<time_t>(c_.timeout_ms / 1000), static_cast<suseconds_t>(c_.timeout_ms % 1000 * 1000)};
    redisContext* ctx = ep_.unix_path.empty() ? redisConnectWithTimeout(ep_.host.c_str(), ep_.port, timeout)
                                              : redisConnectUnixWithTimeout(ep_.unix_path.c_str(), timeout);
    if (!ctx || ctx->err) {
      mark_down(ctx ? ctx->errstr : "cannot allocate a context");
      if (ctx) redisFree(ctx);
      return false;
    }
    redisSetTimeout(ctx, timeout);
    ctx_ = ctx;
    // Script hashes, so that each decision sends the hash, not the script.
    for (auto [script, sha] : {std::pair{kReserve, &reserve_sha_}, std::pair{kAdjust, &adjust_sha_}}) {
      auto* r = static_cast<redisReply*>(redisCommand(ctx_, "SCRIPT LOAD %s", script));
      if (!r || r->type != REDIS_REPLY_STRING) {
        mark_down(r && r->type == REDIS_REPLY_ERROR ? r->str : ctx_->errstr);
        if (r) freeReplyObject(r);
        disconnect();
        return false;
      }
      *sha = r->str;
      freeReplyObject(r);
    }
    if (down_) logger("gateway")->info("redis rate limiter connected url={}", c_.redis_url);
    down_ = false;
    return true;
  }

  void disconnect() {
    if (ctx_) redisFree(ctx_);
    ctx_ = nullptr;
  }

  void mark_down(const std::string& why) {
    if (!down_) logger("gateway")->error("redis rate limiter unavailable url={} error={} on_failure={}", c_.redis_url, why,
                                         c_.fail_open ? "open" : "closed");
    down_ = true;
    retry_at_ = SteadyClock::now() + std::chrono::seconds(1);
  }

  void run() {
    std::unique_lock lock(mu_);
    while (true) {
      cv_.wait(lock, [&] { return stopping_ || !jobs_.empty(); });
      std::deque<Job> batch;
      batch.swap(jobs_);
      const bool stopping = stopping_;
      lock.unlock();
      if (stopping) {
        for (auto& j : batch) if (j.done) j.done(std::nullopt);
        disconnect();
        return;
      }
      process(batch);
      lock.lock();
    }
  }

  void process(std::deque<Job>& batch) {
    if (!ctx_ && (SteadyClock::now() < retry_at_ || !connect())) {
      for (auto& j : batch) {
        ++failures_;
        if (j.done) j.done(std::nullopt);
      }
      return;
    }
    // One round trip for the whole batch (pipelined EVALSHAs).
    for (const auto& j : batch) {
      std::vector<const char*> argv{"EVALSHA", (j.reserve ? reserve_sha_ : adjust_sha_).c_str(), "2"};
      std::vector<size_t> lens{7, argv[1] ? std::strlen(argv[1]) : 0, 1};
      for (const auto& a : j.args) {
        argv.push_back(a.c_str());
        lens.push_back(a.size());
      }
      redisAppendCommandArgv(ctx_, static_cast<int>(argv.size()), argv.data(), lens.data());
    }
    bool failed = false;
    for (auto& j : batch) {
      Reply out;
      redisReply* r = nullptr;
      if (!failed && redisGetReply(ctx_, reinterpret_cast<void**>(&r)) == REDIS_OK && r) {
        if (r->type == REDIS_REPLY_ARRAY) {
          std::vector<long long> v;
          for (size_t i = 0; i < r->elements; ++i) v.push_back(r->element[i]->integer);
          if (v.size() == 6) out = std::move(v);
        } else if (r->type == REDIS_REPLY_INTEGER) {
          out = std::vector<long long>{r->integer};
        } else if (r->type == REDIS_REPLY_ERROR) {
          logger("gateway")->error("redis rate limiter script failed error={}", r->str);
          if (std::string_view(r->str).starts_with("NOSCRIPT")) failed = true;  // flushed: reload on reconnect
        }
        freeReplyObject(r);
      } else if (!failed) {
        failed = true;
        mark_down(ctx_->errstr);
      }
      if (!out) ++failures_;
      if (j.done) j.done(std::move(out));
    }
    if (failed) disconnect();
  }

  RateLimitBackendConfig c_;
  Endpoint ep_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Job> jobs_;
  bool stopping_ = false;
  // Worker thread only:
  redisContext* ctx_ = nullptr;
  std::string reserve_sha_, adjust_sha_;
  bool down_ = true;  // until the first connect (logs "connected" then)
  SteadyClock::time_point retry_at_{};
  std::atomic<uint64_t> failures_{0};
  std::atomic<uint64_t> local_decisions_{0};
  std::mutex cache_mu_;
  std::unordered_map<std::string, Cached> cache_;
  std::thread worker_;  // last: starts after everything it uses
};

}  // namespace

void read_rate_limits(const YAML::Node& n, const std::string& where, RateLimitBackendConfig& c) {
  config::check_keys(n, where, {"backend", "redis_url", "key_prefix", "on_failure", "timeout_ms", "local_cache_ms"});
  config::read(n, where, "local_cache_ms", c.local_cache_ms);
  config::read(n, where, "backend", c.backend);
  config::read(n, where, "redis_url", c.redis_url);
  config::read(n, where, "key_prefix", c.key_prefix);
  config::read(n, where, "timeout_ms", c.timeout_ms);
  if (c.backend != "local" && c.backend != "redis") {
    throw config::KeyError(config::join_key(where, "backend"), "must be local or redis, not '" + c.backend + "'");
  }
  if (auto f = n["on_failure"]) {
    const auto v = config::as<std::string>(f, config::join_key(where, "on_failure"));
    if (v != "open" && v != "closed") throw config::KeyError(config::join_key(where, "on_failure"), "must be open or closed");
    c.fail_open = v == "open";
  }
}

std::unique_ptr<RateLimiter> make_local_limiter() { return std::make_unique<Local>(); }

Result<std::unique_ptr<RateLimiter>> make_redis_limiter(const RateLimitBackendConfig& c) {
  auto ep = parse_redis_url(c.redis_url);
  if (!ep) return ep.error();
  return std::unique_ptr<RateLimiter>(std::make_unique<Redis>(c, *ep));
}

Result<std::unique_ptr<RateLimiter>> make_rate_limiter(const RateLimitBackendConfig& c) {
  if (c.backend == "redis") return make_redis_limiter(c);
  return make_local_limiter();
}

Result<bool> validate(const RateLimitBackendConfig& c) {
  if (c.backend != "redis") return true;
  if (auto ep = parse_redis_url(c.redis_url); !ep) return ep.error();
  if (c.timeout_ms < 1) return make_error(ErrorKind::kInvalidRequest, "must be >= 1", "rate_limits.timeout_ms");
  return true;
}

}  // namespace tidal::gateway
