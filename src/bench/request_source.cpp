#include "bench/request_source.h"

#include "workload/synthetic_text.h"

namespace tidal::bench {

Result<RequestSource> RequestSource::create(SourceOptions opts) {
  if (opts.trace_time_scale <= 0) return make_error(ErrorKind::kInvalidRequest, "trace time scale must be > 0");
  if (opts.rate < 0) return make_error(ErrorKind::kInvalidRequest, "rate must be >= 0");
  RequestSource src(std::move(opts));
  if (!src.opts_.trace_path.empty()) {
    auto trace = workload::read_trace_file(src.opts_.trace_path);
    if (!trace) return trace.error();
    if (trace->empty()) return make_error(ErrorKind::kInvalidRequest, src.opts_.trace_path + ": the trace is empty");
    src.trace_ = std::move(*trace);
    src.use_trace_ = true;
  }
  return src;
}

std::optional<PlannedRequest> RequestSource::next() {
  if (opts_.requests && issued_ >= opts_.requests) return std::nullopt;
  PlannedRequest p;
  p.index = issued_;
  if (use_trace_) {
    if (issued_ >= trace_.size()) return std::nullopt;
    const auto& t = trace_[issued_];
    p.at_s = t.arrival_s / opts_.trace_time_scale;
    p.input_tokens = t.input_tokens;
    p.max_tokens = t.output_tokens;
    p.prompt = t.hash_ids.empty() ? workload::synthetic_text(opts_.seed * 1'000'003 + issued_, t.input_tokens)
                                  : workload::prompt_from_hash_ids(t.hash_ids, t.input_tokens, opts_.seed + issued_);
  } else {
    if (opts_.rate > 0) {
      if (issued_ > 0) clock_s_ += workload::ArrivalProcess(opts_.arrival, opts_.rate, opts_.cv).next_gap_s(rng_);
      p.at_s = clock_s_;
    }
    p.input_tokens = opts_.input.sample_count(rng_);
    p.max_tokens = opts_.output.sample_count(rng_);
    p.prompt = workload::synthetic_text(opts_.seed * 1'000'003 + issued_, p.input_tokens);
  }
  if (opts_.duration_s > 0 && p.at_s > opts_.duration_s) return std::nullopt;
  ++issued_;
  return p;
}

}  // namespace tidal::bench
