#include <unistd.h>

#include <fstream>

#include "bench/load_generator.h"
#include "cli/commands.h"

namespace tidal::cli {
namespace {

// "ttft=500,tpot=50,e2e=10000" (milliseconds).
Result<bench::Slo> parse_slo(const std::string& text) {
  bench::Slo slo;
  size_t start = 0;
  while (start < text.size()) {
    const size_t comma = text.find(',', start);
    const std::string item = text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    const size_t eq = item.find('=');
    if (eq == std::string::npos) return make_error(ErrorKind::kInvalidRequest, "--slo: expected key=ms in '" + item + "'");
    const std::string key = item.substr(0, eq);
    double v = 0;
    try {
      size_t used = 0;
      v = std::stod(item.substr(eq + 1), &used);
      if (used != item.size() - eq - 1 || v <= 0) throw std::invalid_argument("bad");
    } catch (const std::exception&) {
      return make_error(ErrorKind::kInvalidRequest, "--slo: '" + item + "' needs a positive number of ms");
    }
    if (key == "ttft") slo.ttft_ms = v;
    else if (key == "tpot") slo.tpot_ms = v;
    else if (key == "e2e") slo.e2e_ms = v;
    else return make_error(ErrorKind::kInvalidRequest, "--slo: unknown key '" + key + "' (ttft, tpot, e2e)");
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return slo;
}

}  // namespace

Action add_bench_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("bench", "Generate LLM load against an OpenAI-compatible URL and report latency");
  auto o = std::make_shared<bench::BenchOptions>();
  struct Extra {
    std::string input = "256", output = "128", arrival = "poisson", slo, json_path;
    bool no_progress = false;
  };
  auto x = std::make_shared<Extra>();
  cmd->add_option("--url", o->url, "Base URL of the gateway or engine")->capture_default_str();
  cmd->add_option("--endpoint", o->endpoint, "chat or completions")
      ->check(CLI::IsMember({"chat", "completions"}))
      ->capture_default_str();
  cmd->add_option("--model", o->model, "Model field to send (default: none)");
  cmd->add_flag("--stream", o->stream, "Stream responses (SSE) and measure TTFT/ITL per chunk");
  auto* rate = cmd->add_option("--rate", o->source.rate, "Open loop: requests per second")->check(CLI::PositiveNumber);
  auto* conc = cmd->add_option("--concurrency", o->concurrency, "Closed loop: clients sending back to back")
                   ->check(CLI::PositiveNumber);
  rate->excludes(conc);
  cmd->add_option("--arrival", x->arrival, "Open-loop arrivals: constant, poisson or gamma")
      ->check(CLI::IsMember({"constant", "poisson", "gamma"}))
      ->capture_default_str();
  cmd->add_option("--cv", o->source.cv, "Gamma arrivals: coefficient of variation (burstiness)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--duration", o->source.duration_s, "Stop issuing requests after S seconds")->check(CLI::PositiveNumber);
  cmd->add_option("--requests", o->source.requests, "Stop after N requests")->check(CLI::PositiveNumber);
  cmd->add_option("--input-tokens", x->input, "Prompt length distribution: N, uniform:A:B, exp:MEAN, lognormal:MEAN:CV")
      ->capture_default_str();
  cmd->add_option("--output-tokens", x->output, "max_tokens distribution (same forms)")->capture_default_str();
  auto* convs = cmd->add_option("--conversations", o->conversation.users,
                                 "Multi-turn chat: N users, each resending its growing history every turn")
                    ->check(CLI::PositiveNumber);
  cmd->add_option("--turns", o->conversation.turns, "Conversations: turns per user")
      ->check(CLI::PositiveNumber)->capture_default_str();
  cmd->add_option("--system-prompt-tokens", o->conversation.system_tokens, "Conversations: shared system prompt length")
      ->capture_default_str();
  cmd->add_option("--system-prompts", o->conversation.system_prompts, "Conversations: distinct system prompts")
      ->check(CLI::PositiveNumber)->capture_default_str();
  cmd->add_option("--think-time", o->conversation.think_s, "Conversations: mean seconds between a reply and the next turn")
      ->check(CLI::NonNegativeNumber)->capture_default_str();
  convs->excludes(rate)->excludes(conc);
  cmd->add_option("--trace", o->source.trace_path, "Replay a trace: Azure LLM CSV (.csv) or Mooncake JSONL (.jsonl)")
      ->check(CLI::ExistingFile);
  cmd->add_option("--trace-time-scale", o->source.trace_time_scale, "Replay the trace this many times faster")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--timeout", o->timeout_s, "Per-request timeout in seconds")->check(CLI::PositiveNumber)->capture_default_str();
  cmd->add_option("--slo", x->slo, "SLO for goodput, in ms: ttft=…,tpot=…,e2e=…");
  cmd->add_option("--seed", o->source.seed, "Random seed for arrivals and lengths")->capture_default_str();
  cmd->add_option("--json", x->json_path, "Also write the report as JSON to FILE");
  cmd->add_flag("--no-progress", x->no_progress, "No progress bar even on a terminal");

  return [o, x] {
    auto fail = [](const std::string& m) {
      std::fprintf(stderr, "tidal bench: %s\n", m.c_str());
      return 2;
    };
    const bool conversations = o->conversation.users > 0;
    if (conversations && !o->source.trace_path.empty()) return fail("--conversations and --trace exclude each other");
    if (!conversations && o->source.rate == 0 && o->concurrency == 0 && o->source.trace_path.empty()) o->concurrency = 1;
    if (!conversations && o->source.duration_s == 0 && o->source.requests == 0 && o->source.trace_path.empty()) {
      return fail("give --duration S or --requests N (or --trace FILE)");
    }
    auto in = Distribution::parse(x->input);
    if (!in) return fail("--input-tokens: " + in.error().message);
    auto out = Distribution::parse(x->output);
    if (!out) return fail("--output-tokens: " + out.error().message);
    o->source.input = *in;
    o->source.output = *out;
    o->source.arrival = *workload::parse_arrival_kind(x->arrival);
    bench::Slo slo;
    if (!x->slo.empty()) {
      auto s = parse_slo(x->slo);
      if (!s) return fail(s.error().message);
      slo = *s;
    }
    o->progress = !x->no_progress && ::isatty(2);
    auto run = bench::run_load(*o);
    if (!run) return fail(run.error().message);
    auto report = bench::summarize(run->results, run->duration_s, slo);
    report.mode = (conversations ? std::to_string(o->conversation.users) + " conversations of " +
                                       std::to_string(o->conversation.turns) + " turns"
                   : o->concurrency ? "closed loop, concurrency " + std::to_string(o->concurrency)
                                  : o->source.trace_path.empty() ? "open loop, " + x->arrival + " " +
                                                                       std::to_string(o->source.rate) + " req/s"
                                                                 : "trace " + o->source.trace_path) +
                  (o->stream ? ", streaming" : ", non-streaming") + ", " + o->url;
    std::fputs(bench::to_table(report).c_str(), stdout);
    if (!x->json_path.empty()) {
      std::ofstream f(x->json_path);
      if (!f) return fail("cannot write " + x->json_path);
      f << bench::to_json(report) << "\n";
    }
    return 0;
  };
}

}  // namespace tidal::cli
