#include "sim/detail/outcomes.h"

namespace tidal::sim::detail {

Outcomes::Outcomes(const SimConfig& c)
    : slo_ttft_ms_(c.slo_ttft_ms), slo_e2e_ms_(c.slo_e2e_ms), slo_tpot_ms_(c.slo_tpot_ms),
      per_class_(c.traffic.size() > 1) {
  for (const auto& t : c.traffic) classes_.push_back(Class{t.name});
}

void Outcomes::arrived(uint32_t cls) {
  ++requests_;
  if (per_class_) ++classes_[cls].requests;
}

void Outcomes::failed(const char* kind, uint32_t cls) {
  ++failed_;
  ++errors_by_kind_[kind];
  if (!per_class_) return;
  ++classes_[cls].failed;
  ++classes_[cls].errors_by_kind[kind];
}

void Outcomes::completed(uint32_t cls, double ttft_ms, double e2e_ms, double tpot_ms, uint32_t output_tokens) {
  ++completed_;
  ttft_.add(ttft_ms);
  e2e_.add(e2e_ms);
  const bool met = (slo_ttft_ms_ <= 0 || ttft_ms <= slo_ttft_ms_) && (slo_e2e_ms_ <= 0 || e2e_ms <= slo_e2e_ms_) &&
                   (output_tokens <= 1 || tpot_ms <= slo_tpot_ms_);
  slo_met_ += met ? 1 : 0;
  if (!per_class_) return;
  Class& t = classes_[cls];
  ++t.completed;
  t.slo_met += met ? 1 : 0;
  t.ttft_ms.add(ttft_ms);
}

void Outcomes::fill(SimResult& r) {
  r.requests = requests_;
  r.completed = completed_;
  r.failed = failed_;
  r.errors_by_kind = errors_by_kind_;
  r.slo_met = slo_met_;
  r.ttft_ms = ttft_.summary();
  r.e2e_ms = e2e_.summary();
  if (!per_class_) return;
  for (auto& t : classes_) {
    ClassResult tr;
    tr.requests = t.requests;
    tr.completed = t.completed;
    tr.failed = t.failed;
    tr.slo_met = t.slo_met;
    tr.errors_by_kind = t.errors_by_kind;
    tr.ttft_ms = t.ttft_ms.summary();
    r.classes.emplace_back(t.name, std::move(tr));
  }
}

}  // namespace tidal::sim::detail
