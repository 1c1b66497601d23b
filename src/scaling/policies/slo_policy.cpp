#include "scaling/policies/slo_policy.h"

#include <algorithm>
#include <cmath>
#include <fmt/format.h>

namespace tidal::scaling {
namespace {

constexpr double kSizeAlpha = 0.002;  // per finished request (~500 requests: sizes are heavy-tailed)
constexpr double kCorrAlpha = 0.2;   // per tick with enough samples
constexpr size_t kMinSamples = 5;    // finished requests in a tick before a correction moves
constexpr double kRefitEveryS = 10;  // the model changes slowly; a refit costs ~0.1-1 ms

ReplicaShape shape_of(const SloConfig& c, const engine::EnginePreset& p) {
  return ReplicaShape{c.max_batch ? c.max_batch : p.max_num_seqs, p.max_num_batched_tokens, p.kv_capacity_tokens};
}

}  // namespace

SloPolicy::SloPolicy(SloConfig c, const engine::EnginePreset& prior, double tolerance)
    : c_(std::move(c)), fit_(prior.step, shape_of(c_, prior)), tolerance_(tolerance) {}

Recommendation SloPolicy::recommend(const Signals& s) {
  // 1. Learn: request sizes, the step model, the corrections.
  double tpot_sum = 0, tpot_pred = 0;
  size_t tpot_n = 0, ttft_n = 0;
  bool learned = false;
  for (const auto& r : s.finished) {
    if (r.prompt_tokens == 0) continue;
    const double in = r.prompt_tokens, out = std::max<uint32_t>(1, r.output_tokens);
    mean_in_ = mean_in_ > 0 ? mean_in_ + kSizeAlpha * (in - mean_in_) : in;
    mean_out_ = mean_out_ > 0 ? mean_out_ + kSizeAlpha * (out - mean_out_) : out;
    out_sq_ = out_sq_ > 0 ? out_sq_ + kSizeAlpha * (out * out - out_sq_) : out * out;
    if (c_.calibrate) learned = fit_.add(r, mean_in_, mean_out_, out_sq_) || learned;
    ++ttft_n;
  }
  if (learned && (last_fit_s_ < 0 || s.now_s - last_fit_s_ >= kRefitEveryS)) {
    fit_.refit();
    last_fit_s_ = s.now_s;
  }
  const engine::StepTimeParams& p = fit_.result().params;
  if (c_.calibrate) {
    for (const auto& r : s.finished) {
      if (r.tpot_ms <= 0 || r.output_tokens < 4) continue;
      tpot_sum += r.tpot_ms;
      tpot_pred += decode_step_ms(p, std::max(1.0, r.batch), mean_in_, mean_out_, out_sq_);
      ++tpot_n;
    }
    if (tpot_n >= kMinSamples && tpot_pred > 0) {
      k_tpot_ += kCorrAlpha * (std::clamp(tpot_sum / tpot_pred, 0.5, 3.0) - k_tpot_);
    }
    if (ttft_n >= kMinSamples && s.ttft_p95_ms > 0 && s.queue_depth == 0 && s.ready > 0 && mean_in_ > 0) {
      const double batch = std::max(1.0, s.in_flight / s.ready);
      const double predicted = loaded_ttft_ms(p, fit_.shape(), batch, mean_in_, mean_out_, out_sq_);
      if (predicted > 0) k_ttft_ += kCorrAlpha * (std::clamp(s.ttft_p95_ms / predicted, 0.5, 4.0) - k_ttft_);
    }
  }

  // 2. Plan.
  Recommendation out;
  const double demand = s.rps + s.queue_depth / c_.backlog_drain_s;
  if (mean_in_ <= 0) {
    // Nothing finished yet: no sizes to plan with. Hold what runs (or 1 if work waits).
    out.replicas = std::max(s.current(), demand > 0 || s.in_flight > 0 ? 1 : 0);
    out.hold_down = true;
    out.reason = "slo: no finished request yet to size from";
    return out;
  }
  const ReplicaShape& shape = fit_.shape();
  const double tpot_target = c_.tpot_ms / k_tpot_, ttft_target = c_.ttft_p95_ms / k_ttft_;
  CapacityEstimate cap = replica_capacity(p, shape, mean_in_, mean_out_, tpot_target, ttft_target, out_sq_);
  std::string note;
  if (cap.rps <= 0) {
    // The targets cannot be met at any batch: plan for one sequence per replica, the best there is.
    const double step = decode_step_ms(p, 1, mean_in_, mean_out_, out_sq_);
    cap = CapacityEstimate{1000.0 / (mean_out_ * step), 1, step, loaded_ttft_ms(p, shape, 1, mean_in_, mean_out_, out_sq_)};
    note = "; targets unreachable even at batch 1";
  }
  last_ = cap;
  const double per_replica = cap.rps * c_.headroom;
  out.replicas = demand > 0 ? static_cast<int>(std::ceil(demand / per_replica - 1e-9)) : 0;
  // The HPA's tolerance: no change while the current fleet is within it of the demand
  // (rate noise and size estimates would otherwise flip the fleet back and forth).
  const int current = s.current();
  if (current > 0 && out.replicas != current && std::abs(demand / (current * per_replica) - 1) <= tolerance_) {
    note += fmt::format("; within tolerance of {}", current);
    out.replicas = current;
  }
  if (out.replicas == 0 && s.in_flight > 0) out.replicas = 1;
  out.hold_down = !s.load_fresh;
  const FitResult& f = fit_.result();
  out.reason = fmt::format(
      "slo: {:.2f} req/s + {:.0f} queued over {:.0f} s -> {} x {:.2f} req/s/replica (batch {}, TPOT {:.0f} ms, TTFT {:.0f} "
      "ms at mean {:.0f}/{:.0f} tokens; fit W={:.2f} c1={:.4f} c3={:.3f} err {:.0f}%; k_tpot {:.2f} k_ttft {:.2f}){}",
      s.rps, s.queue_depth, c_.backlog_drain_s, out.replicas, per_replica, cap.batch, cap.step_ms, cap.ttft_ms, mean_in_,
      mean_out_, p.weight_floor_ms, p.per_token_ms, p.per_context_token_us, f.rel_error * 100, k_tpot_, k_ttft_, note);
  return out;
}

std::vector<std::pair<std::string, double>> SloPolicy::state() const {
  const FitResult& f = fit_.result();
  return {{"fit_weight_floor_ms", f.params.weight_floor_ms},
          {"fit_per_token_ms", f.params.per_token_ms},
          {"fit_per_context_token_us", f.params.per_context_token_us},
          {"fit_rel_error", f.rel_error},
          {"prior_rel_error", f.prior_error},
          {"fit_prefill_samples", static_cast<double>(f.prefill_samples)},
          {"fit_decode_samples", static_cast<double>(f.decode_samples)},
          {"k_tpot", k_tpot_},
          {"k_ttft", k_ttft_},
          {"mean_prompt_tokens", mean_in_},
          {"mean_output_tokens", mean_out_},
          {"capacity_rps_per_replica", last_.rps * c_.headroom},
          {"capacity_batch", static_cast<double>(last_.batch)},
          {"predicted_tpot_ms", last_.step_ms},
          {"predicted_ttft_ms", last_.ttft_ms}};
}

}  // namespace tidal::scaling
