#include "engine/server/engine_server.h"

#include <unistd.h>

#include <chrono>

#include "common/log.h"
#include "common/rng.h"
#include "common/tokens.h"
#include "engine/server/engine_core.h"
#include "engine/server/responses.h"
#include "http/server.h"
#include "http/sse.h"
#include "openai/error.h"
#include "openai/request.h"

namespace tidal::engine {
namespace {

using http::Exchange;
using http::ServerRequest;
using http::Response;
using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

Response json_response(unsigned status, std::string body) {
  Response res{static_cast<http::bhttp::status>(status), 11};
  res.set(http::bhttp::field::content_type, "application/json");
  res.set(http::bhttp::field::server, "tidal-engine");
  res.body() = std::move(body);
  return res;
}

Response error_response(const Error& e) { return json_response(openai::http_status(e.kind), openai::error_body(e)); }

}  // namespace

class EngineServer::Impl {
 public:
  Impl(EngineServer& owner, Distribution output)
      : owner_(owner),
        opts_(owner.opts_),
        model_name_(opts_.served_model_name.empty() ? owner.preset_.model_id : opts_.served_model_name),
        output_(output),
        server_(
            http::ServerOptions{.host = opts_.host,
                                .port = opts_.port,
                                .threads = 1,
                                .max_body_bytes = opts_.max_body_bytes,
                                .server_name = "tidal-engine"},
            [this](ServerRequest& req, Exchange& ex) { return handle(req, ex); },
            [](http::bhttp::status s, std::string_view msg) {
              return error_response(make_error(s == http::bhttp::status::payload_too_large ? ErrorKind::kPayloadTooLarge
                                                                                            : ErrorKind::kInvalidRequest,
                                               std::string(msg)));
            }),
        core_(server_.loop(0), owner.preset_,
              CoreOptions{.time_scale = opts_.time_scale, .seed = opts_.seed, .prefix_caching = opts_.prefix_caching}),
        metrics_(opts_.flavor, model_name_, owner.preset_.kv_capacity_tokens),
        rng_(opts_.seed ^ 0x5bd1e995ULL) {}

  ~Impl() {
    // Handler frames hold TokenStreams that call into core_: destroy them first.
    server_.stop();
    server_.join();
    server_.shutdown();
  }

  void start() {
    auto& loop = server_.loop(0);
    http::asio::co_spawn(loop, core_.run(), http::asio::detached);
    const double delay_s = opts_.startup_delay_s / opts_.time_scale;
    if (opts_.flavor == Flavor::kLlamaCpp) server_.listen();  // port open, /health 503 while loading
    if (delay_s <= 0) {
      become_ready();
    } else {
      // port=0: not listening yet (vLLM opens its port once loaded; llama.cpp while loading).
      logger("engine")->info("cold start delay_s={:.3f} flavor={} port={}", delay_s,
                             opts_.flavor == Flavor::kVllm ? "vllm" : "llamacpp", port());
      http::asio::co_spawn(loop, ready_after(delay_s), http::asio::detached);
    }
    server_.start();
  }
  void stop() { server_.stop(); }
  void join() { server_.join(); }
  [[nodiscard]] uint16_t port() const { return server_.listening() ? server_.port() : 0; }

 private:
  void become_ready() {
    if (!server_.listening()) server_.listen();
    owner_.ready_ = true;
    logger("engine")->info("ready port={} preset={} model={}", server_.port(), owner_.preset_.name, model_name_);
  }

  http::awaitable<void> ready_after(double delay_s) {
    http::asio::steady_timer t(server_.loop(0), std::chrono::duration_cast<Clock::duration>(
                                                    std::chrono::duration<double>(delay_s)));
    co_await t.async_wait(http::use_tuple);
    become_ready();
  }

  http::awaitable<void> handle(ServerRequest& req, Exchange& ex) {
    const std::string_view target = req.target();
    const std::string_view path = target.substr(0, target.find('?'));
    const std::string_view query = target.find('?') == std::string_view::npos ? "" : target.substr(target.find('?') + 1);
    const auto method = req.method();
    const bool get = method == http::bhttp::verb::get;
    const bool post = method == http::bhttp::verb::post;

    if (path == "/health" && get) {
      co_await ex.respond(health());
    } else if (path == "/v1/models" && get) {
      co_await ex.respond(models());
    } else if (path == "/metrics" && get) {
      Response res{http::bhttp::status::ok, 11};
      res.set(http::bhttp::field::content_type, "text/plain; version=0.0.4; charset=utf-8");
      res.body() = metrics_.render(core_);
      co_await ex.respond(std::move(res));
    } else if (path == "/slots" && get && opts_.flavor == Flavor::kLlamaCpp) {
      co_await ex.respond(slots(query.find("fail_on_no_slot=1") != std::string_view::npos));
    } else if (path == "/v1/chat/completions" && post) {
      co_await completion(req, ex, openai::Endpoint::kChat);
    } else if (path == "/v1/completions" && post) {
      co_await completion(req, ex, openai::Endpoint::kCompletion);
    } else {
      co_await ex.respond(error_response(make_error(
          ErrorKind::kNotFound,
          "Invalid URL (" + std::string(req.method_string()) + " " + std::string(path) + ")")));
    }
  }

  Response health() const {
    if (owner_.ready_) return json_response(200, opts_.flavor == Flavor::kLlamaCpp ? R"({"status":"ok"})" : "");
    return json_response(503, R"({"error":{"code":503,"message":"Loading model","type":"unavailable_error"}})");
  }

  Response models() const {
    // llama-server says owned_by "llamacpp" (and answers any model name).
    const char* owner = opts_.flavor == Flavor::kLlamaCpp ? "llamacpp" : "tidal";
    boost::json::object m{{"id", model_name_},
                          {"object", "model"},
                          {"created", started_unix_},
                          {"owned_by", owner},
                          {"root", model_name_},
                          {"max_model_len", owner_.preset_.max_model_len}};
    boost::json::array data{m};
    // vLLM lists each LoRA adapter as a model whose parent is the base model.
    for (const auto& spec : opts_.lora_modules) {
      const std::string name = spec.substr(0, spec.find('='));
      const std::string root = spec.find('=') == std::string::npos ? name : spec.substr(spec.find('=') + 1);
      data.push_back(boost::json::object{{"id", name}, {"object", "model"}, {"created", started_unix_},
                                         {"owned_by", owner}, {"root", root}, {"parent", model_name_},
                                         {"max_model_len", owner_.preset_.max_model_len}});
    }
    boost::json::object root{{"object", "list"}, {"data", std::move(data)}};
    return json_response(200, boost::json::serialize(root));
  }

  bool serves(std::string_view model) const {
    if (model == model_name_) return true;
    for (const auto& spec : opts_.lora_modules) {
      if (std::string_view(spec).substr(0, spec.find('=')) == model) return true;
    }
    return false;
  }

  Response slots(bool fail_on_no_slot) const {
    const size_t n = owner_.preset_.max_num_seqs;
    const size_t busy = core_.model().num_running();
    if (fail_on_no_slot && busy >= n) {
      return json_response(503, R"({"error":{"code":503,"message":"no slot available","type":"unavailable_error"}})");
    }
    boost::json::array arr;
    for (size_t i = 0; i < n; ++i) {
      arr.push_back(boost::json::object{{"id", i},
                                        {"id_task", i < busy ? static_cast<int64_t>(i) : -1},
                                        {"n_ctx", owner_.preset_.max_model_len},
                                        {"is_processing", i < busy}});
    }
    return json_response(200, boost::json::serialize(arr));
  }

  http::awaitable<void> wait_wall(double ms) {
    http::asio::steady_timer t(server_.loop(0));
    if (ms < 0) {
      t.expires_at(http::asio::steady_timer::time_point::max());
    } else {
      t.expires_after(std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double, std::milli>(ms)));
    }
    co_await t.async_wait(http::asio::use_awaitable);  // throws when the client leaves
  }

  http::awaitable<void> completion(ServerRequest& req, Exchange& ex, openai::Endpoint endpoint) {
    const auto t0 = Clock::now();
    if (!owner_.ready_) {
      co_await ex.respond(json_response(503, R"({"error":{"code":503,"message":"Loading model","type":"unavailable_error"}})"));
      co_return;
    }
    auto parsed = openai::parse_completion_request(endpoint, req.body());
    if (!parsed) {
      co_await ex.respond(error_response(parsed.error()));
      co_return;
    }
    const auto& f = opts_.faults;
    ++completions_;
    if (f.exit_after > 0 && completions_ > f.exit_after) {
      logger("engine")->warn("fault: exiting after requests={}", f.exit_after);
      ::_exit(3);
    }
    if (f.error_rate > 0 && rng_.uniform() < f.error_rate) {
      co_await ex.respond(error_response(make_error(ErrorKind::kInternal, "injected fault", "", "injected_error")));
      co_return;
    }
    if (f.hang_rate > 0 && rng_.uniform() < f.hang_rate) co_await wait_wall(-1);
    if (f.added_latency_ms > 0) co_await wait_wall(f.added_latency_ms);

    if (opts_.flavor == Flavor::kVllm && !parsed->model.empty() && !serves(parsed->model)) {
      co_await ex.respond(error_response(make_error(ErrorKind::kNotFound,
                                                    "The model `" + parsed->model + "` does not exist.", "model",
                                                    "model_not_found")));
      co_return;
    }
    const uint32_t max_tokens = parsed->max_tokens ? *parsed->max_tokens : output_.sample_count(rng_);
    const std::string_view finish_reason = parsed->max_tokens ? "length" : "stop";
    const uint32_t limit = owner_.preset_.max_model_len;
    if (static_cast<uint64_t>(parsed->prompt_tokens) + max_tokens > limit) {
      const std::string msg = "This model's maximum context length is " + std::to_string(limit) +
                              " tokens. However, you requested " + std::to_string(parsed->prompt_tokens + max_tokens) +
                              " tokens (" + std::to_string(parsed->prompt_tokens) + " in the messages, " +
                              std::to_string(max_tokens) + " in the completion). Please reduce the length.";
      co_await ex.respond(error_response(make_error(ErrorKind::kInvalidRequest, msg, "", 
                                                    opts_.flavor == Flavor::kVllm ? "context_length_exceeded"
                                                                                  : "exceed_context_size_error")));
      co_return;
    }

    const uint64_t n = ++request_seq_;
    ResponseContext ctx{endpoint, (endpoint == openai::Endpoint::kChat ? "chatcmpl-" : "cmpl-") + std::to_string(n),
                        model_name_,
                        std::chrono::duration_cast<std::chrono::seconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count()};
    auto tokens = core_.submit(parsed->prompt_tokens, max_tokens, prefix_block_hashes(parsed->prompt_text));
    Usage usage{parsed->prompt_tokens, 0, 0};

    if (!parsed->stream) {
      std::string text;
      while (true) {
        auto ev = co_await tokens->next();
        if (!ev) co_return;  // client left; the stream's destructor cancels the sequence
        if (ev->index == 0) metrics_.observe_ttft(seconds_since(t0));
        text.append(token_text(n, ev->index));
        usage.completion_tokens = ev->index + 1;
        usage.cached_tokens = ev->cached_tokens;
        if (ev->finished) break;
      }
      metrics_.observe_e2e(seconds_since(t0));
      metrics_.count_finished(finish_reason);
      co_await ex.respond(json_response(200, full_response(ctx, text, finish_reason, usage)));
      co_return;
    }

    http::bhttp::response<http::bhttp::empty_body> head{http::bhttp::status::ok, 11};
    head.set(http::bhttp::field::content_type, "text/event-stream");
    head.set(http::bhttp::field::cache_control, "no-cache");
    head.set(http::bhttp::field::server, "tidal-engine");
    if (!co_await ex.start_stream(std::move(head))) co_return;
    auto last = Clock::now();
    std::string payload;
    while (true) {
      auto ev = co_await tokens->next();
      if (!ev) co_return;
      const auto now = Clock::now();
      payload.clear();
      if (ev->index == 0) {
        metrics_.observe_ttft(seconds_since(t0));
        if (endpoint == openai::Endpoint::kChat) payload = http::sse_event(stream_chunk(ctx, "", "", true));
      } else {
        metrics_.observe_itl(std::chrono::duration<double>(now - last).count());
      }
      last = now;
      usage.completion_tokens = ev->index + 1;
      usage.cached_tokens = ev->cached_tokens;
      payload += http::sse_event(
          stream_chunk(ctx, token_text(n, ev->index), ev->finished ? finish_reason : std::string_view{}, false));
      if (ev->finished) {
        if (parsed->include_usage) payload += http::sse_event(usage_chunk(ctx, usage));
        payload += "data: [DONE]\n\n";
      }
      if (!co_await ex.write_chunk(payload)) co_return;
      if (ev->finished) break;
      if (f.abort_after_tokens > 0 && ev->index + 1 >= f.abort_after_tokens) {
        logger("engine")->debug("fault: aborting stream id={} tokens={}", ctx.id, ev->index + 1);
        ex.close_connection();
        co_return;
      }
    }
    metrics_.observe_e2e(seconds_since(t0));
    metrics_.count_finished(finish_reason);
    co_await ex.finish_stream();
  }

  EngineServer& owner_;
  const EngineOptions& opts_;
  std::string model_name_;
  Distribution output_;
  http::Server server_;
  EngineCore core_;
  EngineMetrics metrics_;
  Rng rng_;
  uint64_t completions_ = 0;
  uint64_t request_seq_ = 0;
  int64_t started_unix_ = std::chrono::duration_cast<std::chrono::seconds>(
                              std::chrono::system_clock::now().time_since_epoch())
                              .count();
};

Result<std::unique_ptr<EngineServer>> EngineServer::create(EngineOptions opts) {
  auto preset = find_preset(opts.preset);
  if (!preset) {
    std::string names;
    for (const auto& p : presets()) names.append(names.empty() ? "" : ", ").append(p.name);
    return make_error(ErrorKind::kInvalidRequest, "unknown preset '" + opts.preset + "' (known: " + names + ")",
                      "preset");
  }
  if (opts.max_num_seqs) preset->max_num_seqs = opts.max_num_seqs;
  if (opts.max_num_batched_tokens) preset->max_num_batched_tokens = opts.max_num_batched_tokens;
  if (opts.kv_capacity_tokens) preset->kv_capacity_tokens = opts.kv_capacity_tokens;
  if (preset->kv_capacity_tokens < preset->max_model_len) preset->max_model_len = preset->kv_capacity_tokens;
  if (!(opts.time_scale > 0)) return make_error(ErrorKind::kInvalidRequest, "time scale must be > 0", "time-scale");
  if (opts.startup_delay_s < 0) return make_error(ErrorKind::kInvalidRequest, "startup delay must be >= 0", "startup-delay-s");
  for (double rate : {opts.faults.error_rate, opts.faults.hang_rate}) {
    if (rate < 0 || rate > 1) return make_error(ErrorKind::kInvalidRequest, "fault rates must be in [0, 1]", "error-rate");
  }
  auto output = Distribution::parse(opts.default_output_tokens);
  if (!output) return output.error();
  return std::unique_ptr<EngineServer>(new EngineServer(std::move(opts), *preset, *output));
}

EngineServer::EngineServer(EngineOptions opts, EnginePreset preset, Distribution output)
    : opts_(std::move(opts)), preset_(std::move(preset)) {
  impl_ = std::make_unique<Impl>(*this, output);
}

EngineServer::~EngineServer() {
  if (impl_) {
    impl_->stop();
    impl_->join();
  }
}

void EngineServer::start() { impl_->start(); }
void EngineServer::stop() { impl_->stop(); }
void EngineServer::join() { impl_->join(); }
uint16_t EngineServer::port() const { return impl_->port(); }

}  // namespace tidal::engine
