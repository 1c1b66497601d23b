#include "sim/workload.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <numbers>
#include <sstream>

#include <fmt/format.h>

#include "common/tokens.h"

namespace tidal::sim {
namespace {

std::string num(double v) { return fmt::format("{:g}", v); }

double lerp(double a, double b, double f) { return a + (b - a) * std::clamp(f, 0.0, 1.0); }

SimRequest sized(double t, Rng& rng, const ScenarioParams& p) {
  SimRequest r;
  r.t_s = t;
  r.input_tokens = p.input.sample_count(rng);
  r.output_tokens = p.output.sample_count(rng);
  return r;
}

// Request classes of the mixed scenario: (input mean, output mean).
struct SizeClass {
  const char* name;
  double in, out;
};
constexpr SizeClass kClasses[] = {{"chat", 300, 150}, {"summarise", 3000, 250}, {"generate", 200, 1200}};

}  // namespace

std::vector<uint64_t> mooncake_prefix(const std::vector<uint64_t>& hash_ids, uint32_t input_tokens) {
  constexpr uint32_t kPerId = workload::kMooncakeBlockTokens / kKvBlockTokens;  // 32
  const uint32_t full = input_tokens / kKvBlockTokens;
  std::vector<uint64_t> out;
  out.reserve(full);
  uint64_t prev = 0x9E3779B97F4A7C15ULL;
  for (uint32_t b = 0; b < full; ++b) {
    const uint32_t id_index = b / kPerId;
    if (id_index >= hash_ids.size()) break;
    uint64_t h = prev ^ (hash_ids[id_index] * 0xBF58476D1CE4E5B9ULL + (b % kPerId) + 1);
    h ^= h >> 31;
    h *= 0x94D049BB133111EBULL;
    h ^= h >> 29;
    out.push_back(h);
    prev = h;
  }
  return out;
}

Result<std::unique_ptr<Workload>> Workload::scenario(const ScenarioParams& p, uint64_t seed) {
  if (!(p.base_rps > 0)) return make_error(ErrorKind::kInvalidRequest, "the base rate must be > 0", "rate");
  if (!(p.arrival_cv > 0)) return make_error(ErrorKind::kInvalidRequest, "the arrival CV must be > 0", "cv");
  std::unique_ptr<Workload> w(new Workload());
  w->rng_ = Rng(seed);
  w->arrival_cv_ = p.arrival_cv;
  const double r = p.base_rps;
  w->sizes_ = [p](double t, Rng& rng, SimRequest& out) { out = sized(t, rng, p); };
  if (p.name == "constant") {
    w->duration_s_ = p.duration_s > 0 ? p.duration_s : 3600;
    w->rate_ = [r](double) { return r; };
    w->rate_max_ = r;
    w->description_ = "constant " + num(r) + " req/s";
  } else if (p.name == "spike") {
    // Base load for 30 min; 10x over 5 min; hold 20 min; back over 5 min; 30 min more.
    const double peak = r * (p.peak_ratio > 0 ? p.peak_ratio : 10);
    const double up = 1800, ramp = 300, hold = 1200;
    w->duration_s_ = p.duration_s > 0 ? p.duration_s : up + 2 * ramp + hold + 1800;
    w->rate_ = [=](double t) {
      if (t < up) return r;
      if (t < up + ramp) return lerp(r, peak, (t - up) / ramp);
      if (t < up + ramp + hold) return peak;
      if (t < up + 2 * ramp + hold) return lerp(peak, r, (t - up - ramp - hold) / ramp);
      return r;
    };
    w->rate_max_ = peak;
    w->changes_ = {{up, r, peak}, {up + ramp + hold, peak, r}};
    w->description_ = "spike: " + num(r) + " -> " + num(peak) + " req/s over 5 min, back after 20 min";
  } else if (p.name == "gradual") {
    // 15 min flat, then steady growth to 2x over one hour, then 15 min flat.
    const double flat = 900, grow = 3600;
    w->duration_s_ = p.duration_s > 0 ? p.duration_s : 2 * flat + grow;
    w->rate_ = [=](double t) { return t < flat ? r : lerp(r, 2 * r, (t - flat) / grow); };
    w->rate_max_ = 2 * r;
    w->changes_ = {{flat, r, 2 * r}};
    w->description_ = "gradual: " + num(r) + " -> " + num(2 * r) + " req/s over 1 h";
  } else if (p.name == "periodic") {
    // A daily cycle with mean r, trough at midnight, peak at noon.
    const double ratio = p.peak_ratio > 0 ? p.peak_ratio : 4;
    const double a = (ratio - 1) / (ratio + 1);
    w->duration_s_ = p.duration_s > 0 ? p.duration_s : p.days * 86400;
    w->rate_ = [=](double t) { return r * (1 - a * std::cos(2 * std::numbers::pi * t / 86400)); };
    w->rate_max_ = r * (1 + a);
    w->description_ = "periodic: daily cycle, mean " + num(r) + " req/s, peak/trough " + num(ratio);
  } else if (p.name == "drop") {
    // 30 min at r, then a sudden drop to 10% for an hour.
    const double at = 1800;
    w->duration_s_ = p.duration_s > 0 ? p.duration_s : at + 3600;
    w->rate_ = [=](double t) { return t < at ? r : 0.1 * r; };
    w->rate_max_ = r;
    w->changes_ = {{at, r, 0.1 * r}};
    w->description_ = "drop: " + num(r) + " -> " + num(0.1 * r) + " req/s";
  } else if (p.name == "mixed") {
    // Constant rate; the mix moves from chat-heavy to summarisation to long generation.
    w->duration_s_ = p.duration_s > 0 ? p.duration_s : 7200;
    const double d = w->duration_s_;
    w->rate_ = [r](double) { return r; };
    w->rate_max_ = r;
    w->sizes_ = [d](double t, Rng& rng, SimRequest& out) {
      const double f = t / d;
      const double weights[3] = {lerp(0.7, 0.2, f), lerp(0.2, 0.3, f), lerp(0.1, 0.5, f)};
      double u = rng.uniform() * (weights[0] + weights[1] + weights[2]);
      size_t k = 0;
      while (k < 2 && u > weights[k]) u -= weights[k++];
      out.t_s = t;
      out.input_tokens = std::max<uint32_t>(1, static_cast<uint32_t>(std::lround(rng.gamma_mean_cv(kClasses[k].in, 0.5))));
      out.output_tokens = std::max<uint32_t>(1, static_cast<uint32_t>(std::lround(rng.gamma_mean_cv(kClasses[k].out, 0.5))));
    };
    w->description_ = "mixed: " + num(r) + " req/s, chat -> summarisation -> long generation";
  } else {
    return make_error(ErrorKind::kInvalidRequest,
                      "unknown scenario '" + p.name + "' (known: spike, gradual, periodic, drop, mixed, constant)",
                      "scenario");
  }
  return w;
}

Result<std::unique_ptr<Workload>> Workload::trace(const std::string& path, double time_scale, double rate_scale,
                                                  const ScenarioParams& sizes, uint64_t seed) {
  if (!(time_scale > 0) || !(rate_scale > 0)) {
    return make_error(ErrorKind::kInvalidRequest, "time scale and rate scale must be > 0");
  }
  std::unique_ptr<Workload> w(new Workload());
  w->rng_ = Rng(seed);
  w->time_scale_ = time_scale;
  w->rate_scale_ = rate_scale;
  std::ifstream probe(path);
  std::string header;
  std::getline(probe, header);
  if (header.starts_with("window_start_s")) {
    // ServeGen aggregate: piecewise-constant rate per window; zero windows are gaps in
    // the published data and keep the previous window's rate.
    std::vector<std::pair<double, double>> windows;  // (start, rate)
    std::string line;
    size_t n = 1;
    double last = 0;
    while (std::getline(probe, line)) {
      ++n;
      std::istringstream ss(line);
      std::string start, len, rate;
      if (!std::getline(ss, start, ',') || !std::getline(ss, len, ',') || !std::getline(ss, rate, ',')) {
        return make_error(ErrorKind::kInvalidRequest, path + ":" + num(n) + ": expected window_start_s,window_len_s,total_rate_rps");
      }
      double v = 0;
      try {
        v = std::stod(rate);
        windows.emplace_back(std::stod(start) / time_scale, 0);
      } catch (const std::exception&) {
        return make_error(ErrorKind::kInvalidRequest, path + ":" + num(n) + ": bad number");
      }
      if (v > 0) last = v;
      windows.back().second = last * rate_scale;
      w->duration_s_ = (std::stod(start) + std::stod(len)) / time_scale;
    }
    if (windows.empty()) return make_error(ErrorKind::kInvalidRequest, path + ": no windows");
    for (const auto& [s, rate] : windows) w->rate_max_ = std::max(w->rate_max_, rate);
    // Arrival times only grow: the window of the previous call is the first guess.
    w->rate_ = [windows, last = size_t{0}](double t) mutable {
      if (last + 1 < windows.size() && windows[last].first <= t && t < windows[last + 1].first) {
        return windows[last].second;
      }
      auto it = std::upper_bound(windows.begin(), windows.end(), t,
                                 [](double v, const std::pair<double, double>& win) { return v < win.first; });
      if (it == windows.begin()) return windows.front().second;
      last = static_cast<size_t>(std::prev(it) - windows.begin());
      return windows[last].second;
    };
    w->sizes_ = [sizes](double t, Rng& rng, SimRequest& out) { out = sized(t, rng, sizes); };
    if (sizes.duration_s > 0) w->duration_s_ = std::min(w->duration_s_, sizes.duration_s);
    w->description_ = "ServeGen rate curve " + path + " x" + num(rate_scale);
    return w;
  }
  if (std::count(header.begin(), header.end(), ',') == 5 && !header.starts_with("TIMESTAMP")) {
    // A ServeGen per-client file: every line is a window.
    probe.clear();
    probe.seekg(0);
    std::string line;
    size_t n = 0;
    while (std::getline(probe, line)) {
      ++n;
      if (line.empty()) continue;
      std::vector<std::string> f;
      std::stringstream ss(line);
      for (std::string x; std::getline(ss, x, ',');) f.push_back(x);
      while (f.size() < 6) f.emplace_back();
      ClientWindow win{};
      try {
        win.start_s = std::stod(f[0]) / time_scale;
        win.rate = std::stod(f[1]) * rate_scale;
        win.pattern = f[3] == "Gamma" ? 1 : f[3] == "Weibull" ? 2 : 0;
        if (win.pattern != 0) {
          win.shape = std::stod(f[4]);
          // Inter-arrival scale in seconds: faster replay and more rate shrink it.
          win.scale = std::stod(f[5]) / time_scale / rate_scale;
          if (!(win.shape > 0) || !(win.scale > 0)) throw std::invalid_argument("params");
        }
      } catch (const std::exception&) {
        return make_error(ErrorKind::kInvalidRequest,
                          path + ":" + num(static_cast<double>(n)) + ": expected window_start_s,rate_rps,cv,pattern,shape,scale");
      }
      if (win.rate <= 0) win.pattern = 0;
      w->windows_.push_back(win);
    }
    if (w->windows_.empty()) return make_error(ErrorKind::kInvalidRequest, path + ": no windows");
    w->window_len_s_ = w->windows_.size() > 1 ? w->windows_[1].start_s - w->windows_[0].start_s : 600 / time_scale;
    w->duration_s_ = w->windows_.back().start_s + w->window_len_s_;
    if (sizes.duration_s > 0) w->duration_s_ = std::min(w->duration_s_, sizes.duration_s);
    auto windows = w->windows_;
    const double len = w->window_len_s_;
    w->rate_ = [windows, len](double t) {
      const auto i = static_cast<size_t>(std::max(0.0, t) / len);
      return i < windows.size() ? windows[i].rate : 0.0;
    };
    w->sizes_ = [sizes](double t, Rng& rng, SimRequest& out) { out = sized(t, rng, sizes); };
    w->description_ = "ServeGen client " + path;
    return w;
  }
  auto trace = workload::read_trace_file(path);
  if (!trace) return trace.error();
  if (trace->empty()) return make_error(ErrorKind::kInvalidRequest, path + ": the trace is empty");
  w->trace_ = std::move(*trace);
  w->duration_s_ = w->trace_.back().arrival_s / time_scale;
  // Expected rate per minute, from the trace itself.
  auto buckets = std::make_shared<std::vector<double>>(static_cast<size_t>(w->duration_s_ / 60) + 1, 0.0);
  for (const auto& r : w->trace_) (*buckets)[static_cast<size_t>(r.arrival_s / time_scale / 60)] += rate_scale / 60.0;
  w->rate_ = [buckets](double t) {
    const auto i = static_cast<size_t>(std::max(0.0, t) / 60);
    return i < buckets->size() ? (*buckets)[i] : 0.0;
  };
  if (sizes.duration_s > 0 && sizes.duration_s < w->duration_s_) {
    w->duration_s_ = sizes.duration_s;
    const double cut = sizes.duration_s * time_scale;
    auto end = std::find_if(w->trace_.begin(), w->trace_.end(), [cut](const auto& r) { return r.arrival_s > cut; });
    w->trace_.erase(end, w->trace_.end());
  }
  w->description_ = "trace " + path;
  return w;
}

std::optional<SimRequest> Workload::next_client_arrival() {
  while (true) {
    if (t_ >= duration_s_) return std::nullopt;
    const auto i = static_cast<size_t>(t_ / window_len_s_);
    if (i >= windows_.size()) return std::nullopt;
    const ClientWindow& win = windows_[i];
    const double end = win.start_s + window_len_s_;
    if (win.pattern == 0) {
      t_ = end;  // idle window
      continue;
    }
    const double gap = win.pattern == 1 ? rng_.gamma(win.shape, win.scale) : rng_.weibull(win.shape, win.scale);
    if (t_ + gap >= end) {
      t_ = end;  // the next window's fitted distribution takes over at its start
      continue;
    }
    t_ += gap;
    if (t_ >= duration_s_) return std::nullopt;
    SimRequest r;
    sizes_(t_, rng_, r);
    return r;
  }
}

std::optional<SimRequest> Workload::next() {
  if (!windows_.empty()) return next_client_arrival();
  if (!trace_.empty()) {
    while (copies_.empty()) {
      if (trace_pos_ >= trace_.size()) return std::nullopt;
      const auto& tr = trace_[trace_pos_++];
      SimRequest r;
      r.t_s = tr.arrival_s / time_scale_;
      r.input_tokens = tr.input_tokens;
      r.output_tokens = tr.output_tokens;
      r.prefix = mooncake_prefix(tr.hash_ids, tr.input_tokens);
      // rate_scale m: floor(m) copies plus one more with probability frac(m).
      const double m = rate_scale_;
      auto copies = static_cast<int>(std::floor(m));
      if (rng_.uniform() < m - copies) ++copies;
      for (int i = 0; i < copies; ++i) copies_.push_back(r);
    }
    SimRequest r = std::move(copies_.back());
    copies_.pop_back();
    return r;
  }
  if (arrival_cv_ != 1.0) {
    // Gamma renewal process in operational time: gaps of mean 1 in the integrated rate
    // (time rescaling), walked in steps of at most 1 s.
    double need = rng_.gamma_mean_cv(1.0, arrival_cv_);
    while (need > 0) {
      const double step = std::min(1.0, duration_s_ - t_);
      if (step <= 0) return std::nullopt;
      const double r = rate_(t_);
      if (r * step >= need) {
        t_ += need / r;
        need = 0;
      } else {
        need -= r * step;
        t_ += step;
      }
    }
    if (t_ >= duration_s_) return std::nullopt;
    SimRequest r;
    sizes_(t_, rng_, r);
    return r;
  }
  // Thinning: candidates at the peak rate, each kept with probability rate(t)/peak.
  while (true) {
    t_ += rng_.exponential(1.0 / rate_max_);
    if (t_ >= duration_s_) return std::nullopt;
    if (rng_.uniform() * rate_max_ <= rate_(t_)) {
      SimRequest r;
      sizes_(t_, rng_, r);
      return r;
    }
  }
}

}  // namespace tidal::sim
