#include "bench/report.h"

#include <boost/json.hpp>
#include <fmt/format.h>

#include <map>

namespace tidal::bench {
namespace {

boost::json::object pct(const stats::Percentiles& p) {
  return {{"p50", p.p50}, {"p90", p.p90}, {"p95", p.p95}, {"p99", p.p99}, {"mean", p.mean}, {"max", p.max},
          {"count", p.count}};
}

}  // namespace

Report summarize(const std::vector<RequestResult>& results, double duration_s, const Slo& slo) {
  Report r;
  r.slo = slo;
  r.duration_s = duration_s;
  stats::Samples ttft, tpot, itl, e2e;
  uint64_t out_tokens = 0, in_tokens = 0;
  std::map<int, std::pair<uint64_t, uint64_t>> by_session;  // cached, prompt
  for (const auto& x : results) {
    ++r.requests;
    if (!x.ok) {
      ++r.errors;
      ++r.errors_by_kind[x.error];
      continue;
    }
    ++r.successes;
    ttft.add(x.ttft_ms);
    e2e.add(x.e2e_ms);
    double t = 0;
    if (x.output_tokens > 1) {
      t = (x.e2e_ms - x.ttft_ms) / (x.output_tokens - 1);
      tpot.add(t);
    }
    for (double g : x.itl_ms) itl.add(g);
    out_tokens += x.output_tokens;
    in_tokens += x.input_tokens;
    r.cached_tokens += x.cached_tokens;
    if (x.prompt_tokens > 0) {
      r.reported_prompt_tokens += x.prompt_tokens;
      if (x.session >= 0) {
        auto& [cached, prompt] = by_session[x.session];
        cached += x.cached_tokens;
        prompt += x.prompt_tokens;
      }
    }
    const bool met = (slo.ttft_ms <= 0 || x.ttft_ms <= slo.ttft_ms) && (slo.tpot_ms <= 0 || t <= slo.tpot_ms) &&
                     (slo.e2e_ms <= 0 || x.e2e_ms <= slo.e2e_ms);
    if (met) ++r.slo_met;
  }
  if (r.reported_prompt_tokens) r.cache_hit_pct = 100.0 * double(r.cached_tokens) / double(r.reported_prompt_tokens);
  stats::Samples session_hits;
  for (const auto& [id, cp] : by_session) session_hits.add(100.0 * double(cp.first) / double(cp.second));
  r.sessions = by_session.size();
  r.session_hit_pct = session_hits.summary();
  r.ttft_ms = ttft.summary();
  r.tpot_ms = tpot.summary();
  r.itl_ms = itl.summary();
  r.e2e_ms = e2e.summary();
  if (duration_s > 0) {
    r.req_per_s = static_cast<double>(r.successes) / duration_s;
    r.output_tokens_per_s = static_cast<double>(out_tokens) / duration_s;
    r.input_tokens_per_s = static_cast<double>(in_tokens) / duration_s;
    r.goodput_req_per_s = static_cast<double>(r.slo_met) / duration_s;
  }
  r.slo_attainment = r.requests ? static_cast<double>(r.slo_met) / static_cast<double>(r.requests) : 0.0;
  return r;
}

std::string to_json(const Report& r) {
  boost::json::object errs;
  for (const auto& [k, v] : r.errors_by_kind) errs[k] = v;
  boost::json::object o{
      {"requests", r.requests},
      {"successes", r.successes},
      {"errors", r.errors},
      {"error_rate", r.requests ? static_cast<double>(r.errors) / static_cast<double>(r.requests) : 0.0},
      {"errors_by_kind", std::move(errs)},
      {"duration_s", r.duration_s},
      {"req_per_s", r.req_per_s},
      {"output_tokens_per_s", r.output_tokens_per_s},
      {"input_tokens_per_s", r.input_tokens_per_s},
      {"cached_prompt_tokens", r.cached_tokens},
      {"reported_prompt_tokens", r.reported_prompt_tokens},
      {"cache_hit_pct", r.cache_hit_pct},
      {"sessions", r.sessions},
      {"session_cache_hit_pct", pct(r.session_hit_pct)},
      {"ttft_ms", pct(r.ttft_ms)},
      {"tpot_ms", pct(r.tpot_ms)},
      {"itl_ms", pct(r.itl_ms)},
      {"e2e_ms", pct(r.e2e_ms)},
      {"slo", boost::json::object{{"ttft_ms", r.slo.ttft_ms}, {"tpot_ms", r.slo.tpot_ms}, {"e2e_ms", r.slo.e2e_ms}}},
      {"goodput_req_per_s", r.goodput_req_per_s},
      {"slo_attainment", r.slo_attainment},
      {"mode", r.mode},
  };
  return boost::json::serialize(o);
}

std::string to_table(const Report& r) {
  std::string s;
  s += fmt::format("tidal bench: {}\n", r.mode);
  s += fmt::format("requests {}  ok {}  errors {} ({:.2f}%)  duration {:.2f} s\n", r.requests, r.successes, r.errors,
                   r.requests ? 100.0 * static_cast<double>(r.errors) / static_cast<double>(r.requests) : 0.0,
                   r.duration_s);
  for (const auto& [k, v] : r.errors_by_kind) s += fmt::format("  error {:<16} {}\n", k, v);
  s += fmt::format("throughput {:.2f} req/s  {:.1f} output tok/s  {:.1f} input tok/s\n", r.req_per_s,
                   r.output_tokens_per_s, r.input_tokens_per_s);
  s += fmt::format("{:<10} {:>10} {:>10} {:>10} {:>10} {:>10}\n", "ms", "p50", "p90", "p95", "p99", "mean");
  auto row = [&](const char* name, const stats::Percentiles& p) {
    s += fmt::format("{:<10} {:>10.2f} {:>10.2f} {:>10.2f} {:>10.2f} {:>10.2f}\n", name, p.p50, p.p90, p.p95, p.p99,
                     p.mean);
  };
  row("TTFT", r.ttft_ms);
  row("TPOT", r.tpot_ms);
  row("ITL", r.itl_ms);
  row("E2E", r.e2e_ms);
  if (r.reported_prompt_tokens) {
    s += fmt::format("prefix cache hits {:.1f}% of prompt tokens (engine-reported cached_tokens)", r.cache_hit_pct);
    if (r.sessions) {
      s += fmt::format("; per conversation min {:.1f}% p50 {:.1f}% p90 {:.1f}% over {} conversations",
                       r.session_hit_pct.min, r.session_hit_pct.p50, r.session_hit_pct.p90, r.sessions);
    }
    s += "\n";
  }
  if (r.slo.ttft_ms > 0 || r.slo.tpot_ms > 0 || r.slo.e2e_ms > 0) {
    s += fmt::format("goodput {:.2f} req/s  SLO attainment {:.1f}% (ttft<={} tpot<={} e2e<={} ms; 0 = unset)\n",
                     r.goodput_req_per_s, 100.0 * r.slo_attainment, r.slo.ttft_ms, r.slo.tpot_ms, r.slo.e2e_ms);
  }
  return s;
}

}  // namespace tidal::bench
