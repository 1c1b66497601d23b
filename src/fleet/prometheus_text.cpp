#include "fleet/prometheus_text.h"

#include <cctype>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <optional>

namespace tidal::fleet {
namespace {

bool name_char(char c, bool first) {
  return std::isalpha(static_cast<unsigned char>(c)) || c == '_' || c == ':' ||
         (!first && std::isdigit(static_cast<unsigned char>(c)));
}

std::optional<double> number(std::string_view s) {
  if (s == "NaN") return std::numeric_limits<double>::quiet_NaN();
  if (s == "+Inf" || s == "Inf") return std::numeric_limits<double>::infinity();
  if (s == "-Inf") return -std::numeric_limits<double>::infinity();
  if (s.empty() || s.size() > 64) return std::nullopt;
  const std::string copy(s);
  char* end = nullptr;
  const double v = std::strtod(copy.c_str(), &end);
  if (end != copy.c_str() + copy.size()) return std::nullopt;
  return v;
}

// One line; nullopt if it is not a well-formed sample.
std::optional<MetricSample> parse_line(std::string_view line) {
  size_t i = 0;
  auto skip_space = [&] {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
  };
  skip_space();
  if (i >= line.size() || line[i] == '#') return std::nullopt;
  MetricSample s;
  const size_t start = i;
  while (i < line.size() && name_char(line[i], i == start)) ++i;
  if (i == start) return std::nullopt;
  s.name = std::string(line.substr(start, i - start));
  if (i < line.size() && line[i] == '{') {
    ++i;
    while (true) {
      skip_space();
      if (i >= line.size()) return std::nullopt;
      if (line[i] == '}') {
        ++i;
        break;
      }
      const size_t ks = i;
      while (i < line.size() && name_char(line[i], i == ks)) ++i;
      if (i == ks || i >= line.size() || line[i] != '=') return std::nullopt;
      std::string key(line.substr(ks, i - ks));
      ++i;
      if (i >= line.size() || line[i] != '"') return std::nullopt;
      ++i;
      std::string value;
      while (true) {
        if (i >= line.size()) return std::nullopt;
        const char c = line[i++];
        if (c == '"') break;
        if (c == '\\') {
          if (i >= line.size()) return std::nullopt;
          const char e = line[i++];
          value += e == 'n' ? '\n' : e;
        } else {
          value += c;
        }
      }
      s.labels.emplace_back(std::move(key), std::move(value));
      skip_space();
      if (i < line.size() && line[i] == ',') ++i;
    }
  }
  skip_space();
  const size_t vs = i;
  while (i < line.size() && line[i] != ' ' && line[i] != '\t') ++i;
  auto v = number(line.substr(vs, i - vs));
  if (!v) return std::nullopt;
  s.value = *v;
  return s;  // an optional timestamp after the value is ignored
}

}  // namespace

std::vector<MetricSample> parse_prometheus_text(std::string_view text) {
  std::vector<MetricSample> out;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (auto s = parse_line(line)) out.push_back(std::move(*s));
    pos = end + 1;
  }
  return out;
}

}  // namespace tidal::fleet
