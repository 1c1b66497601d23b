#include "workload/trace_reader.h"

#include <boost/json.hpp>

#include <charconv>
#include <fstream>

namespace tidal::workload {
namespace {

template <class T>
bool parse_num(std::string_view s, T& out) {
  while (!s.empty() && (s.back() == ' ' || s.back() == '\r')) s.remove_suffix(1);
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}

int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

Error at(const std::string& origin, size_t line, const std::string& why) {
  return make_error(ErrorKind::kInvalidRequest, origin + ":" + std::to_string(line) + ": " + why);
}

}  // namespace

Result<double> parse_azure_timestamp(std::string_view t) {
  auto bad = [&] { return make_error(ErrorKind::kInvalidRequest, "bad timestamp '" + std::string(t) + "'"); };
  if (t.size() < 19 || t[4] != '-' || t[7] != '-' || (t[10] != ' ' && t[10] != 'T') || t[13] != ':' || t[16] != ':') {
    return bad();
  }
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0;
  if (!parse_num(t.substr(0, 4), y) || !parse_num(t.substr(5, 2), mo) || !parse_num(t.substr(8, 2), d) ||
      !parse_num(t.substr(11, 2), h) || !parse_num(t.substr(14, 2), mi) || !parse_num(t.substr(17, 2), s)) {
    return bad();
  }
  double frac = 0;
  size_t i = 19;
  if (i < t.size() && t[i] == '.') {
    double scale = 0.1;
    for (++i; i < t.size() && t[i] >= '0' && t[i] <= '9'; ++i, scale /= 10) frac += (t[i] - '0') * scale;
  }
  double offset_s = 0;
  if (i < t.size() && (t[i] == '+' || t[i] == '-')) {
    int oh = 0, om = 0;
    if (t.size() < i + 6 || !parse_num(t.substr(i + 1, 2), oh) || !parse_num(t.substr(i + 4, 2), om)) return bad();
    offset_s = (t[i] == '+' ? 1 : -1) * (oh * 3600.0 + om * 60.0);
    i += 6;
  }
  if (i < t.size() && t.substr(i) != "Z") return bad();
  const double days = static_cast<double>(days_from_civil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d)));
  return days * 86400.0 + h * 3600.0 + mi * 60.0 + s + frac - offset_s;
}

Result<std::vector<TraceRequest>> read_azure_csv(std::istream& in, const std::string& origin) {
  std::vector<TraceRequest> out;
  std::string line;
  size_t n = 0;
  double first = 0;
  while (std::getline(in, line)) {
    ++n;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    if (n == 1 && line.starts_with("TIMESTAMP")) continue;
    const size_t c1 = line.find(',');
    const size_t c2 = c1 == std::string::npos ? std::string::npos : line.find(',', c1 + 1);
    if (c2 == std::string::npos) return at(origin, n, "expected TIMESTAMP,ContextTokens,GeneratedTokens");
    auto ts = parse_azure_timestamp(std::string_view(line).substr(0, c1));
    if (!ts) return at(origin, n, ts.error().message);
    TraceRequest r;
    if (!parse_num(std::string_view(line).substr(c1 + 1, c2 - c1 - 1), r.input_tokens)) {
      return at(origin, n, "bad ContextTokens");
    }
    if (!parse_num(std::string_view(line).substr(c2 + 1), r.output_tokens)) return at(origin, n, "bad GeneratedTokens");
    if (out.empty()) first = *ts;
    r.arrival_s = *ts - first;
    r.input_tokens = std::max(1u, r.input_tokens);
    r.output_tokens = std::max(1u, r.output_tokens);
    out.push_back(std::move(r));
  }
  return out;
}

Result<std::vector<TraceRequest>> read_mooncake_jsonl(std::istream& in, const std::string& origin) {
  namespace json = boost::json;
  std::vector<TraceRequest> out;
  std::string line;
  size_t n = 0;
  double first = 0;
  while (std::getline(in, line)) {
    ++n;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    boost::system::error_code ec;
    json::value v = json::parse(line, ec);
    if (ec || !v.is_object()) return at(origin, n, "not a JSON object");
    const auto& o = v.get_object();
    auto number = [&](const char* key, double& dst) {
      const auto* f = o.if_contains(key);
      if (!f || !f->is_number()) return false;
      dst = f->to_number<double>();
      return dst >= 0;
    };
    double ts = 0, in_len = 0, out_len = 0;
    if (!number("timestamp", ts)) return at(origin, n, "missing or bad 'timestamp'");
    if (!number("input_length", in_len)) return at(origin, n, "missing or bad 'input_length'");
    if (!number("output_length", out_len)) return at(origin, n, "missing or bad 'output_length'");
    TraceRequest r;
    if (out.empty()) first = ts;
    r.arrival_s = (ts - first) / 1000.0;
    r.input_tokens = std::max(1u, static_cast<uint32_t>(in_len));
    r.output_tokens = std::max(1u, static_cast<uint32_t>(out_len));
    if (const auto* ids = o.if_contains("hash_ids"); ids && ids->is_array()) {
      for (const auto& id : ids->get_array()) {
        if (!id.is_int64() && !id.is_uint64()) return at(origin, n, "hash_ids must be integers");
        r.hash_ids.push_back(id.is_int64() ? static_cast<uint64_t>(id.get_int64()) : id.get_uint64());
      }
    }
    out.push_back(std::move(r));
  }
  return out;
}

Result<std::vector<TraceRequest>> read_trace_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) return make_error(ErrorKind::kInvalidRequest, path + ": cannot open the trace");
  if (path.ends_with(".csv")) return read_azure_csv(in, path);
  if (path.ends_with(".jsonl") || path.ends_with(".json")) return read_mooncake_jsonl(in, path);
  return make_error(ErrorKind::kInvalidRequest,
                    path + ": unknown trace format (expected .csv Azure or .jsonl Mooncake)");
}

}  // namespace tidal::workload
