#include "gateway/auth.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <sys/stat.h>

#include <fstream>
#include <sstream>

#include "common/config/yaml_reader.h"
#include "common/log.h"

namespace tidal::gateway {
namespace {

using config::join_key;
using config::read;

bool equal_digests(std::string_view a, std::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

void read_limits(const YAML::Node& n, const std::string& where, admission::RateLimits& l) {
  config::check_keys(n, where, {"requests_per_min", "tokens_per_min", "burst"});
  read(n, where, "requests_per_min", l.requests_per_min);
  read(n, where, "tokens_per_min", l.tokens_per_min);
  read(n, where, "burst", l.burst);
  if (l.requests_per_min < 0) throw config::KeyError(join_key(where, "requests_per_min"), "must be >= 0");
  if (l.tokens_per_min < 0) throw config::KeyError(join_key(where, "tokens_per_min"), "must be >= 0");
  if (!(l.burst > 0)) throw config::KeyError(join_key(where, "burst"), "must be > 0");
}

std::vector<ApiKey> read_keys(const YAML::Node& n, const std::string& where) {
  if (!n.IsSequence()) throw config::KeyError(where, "must be a list of keys");
  std::vector<ApiKey> out;
  for (size_t i = 0; i < n.size(); ++i) {
    const std::string at = where + "[" + std::to_string(i) + "]";
    const YAML::Node& k = n[i];
    config::check_keys(k, at, {"key", "key_sha256", "name", "tenant", "tier", "priority_header", "models", "limits"});
    ApiKey key;
    std::string secret;
    read(k, at, "key", secret);
    read(k, at, "key_sha256", key.digest);
    if (secret.empty() == key.digest.empty()) throw config::KeyError(at + ".key", "give exactly one of key or key_sha256");
    if (!secret.empty()) key.digest = sha256_hex(secret);
    if (key.digest.size() != 64 || key.digest.find_first_not_of("0123456789abcdef") != std::string::npos) {
      throw config::KeyError(at + ".key_sha256", "must be 64 lowercase hex digits");
    }
    read(k, at, "name", key.name);
    read(k, at, "tenant", key.tenant);
    read(k, at, "tier", key.tier);
    read(k, at, "priority_header", key.priority_header);
    if (auto m = k["models"]) key.models = config::strings(m, at + ".models");
    if (auto l = k["limits"]) read_limits(l, at + ".limits", key.limits);
    if (key.name.empty()) key.name = key.digest.substr(0, 8);
    if (key.tenant.empty()) key.tenant = key.name;
    out.push_back(std::move(key));
  }
  return out;
}

int64_t mtime_ns(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return -1;
  return static_cast<int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
}

}  // namespace

std::string sha256_hex(std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(len * 2);
  for (unsigned int i = 0; i < len; ++i) {
    out += kHex[md[i] >> 4];
    out += kHex[md[i] & 15];
  }
  return out;
}

std::string_view bearer_token(std::string_view v) {
  constexpr std::string_view kBearer = "Bearer ";
  if (v.size() <= kBearer.size()) return {};
  for (size_t i = 0; i < kBearer.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(v[i])) != std::tolower(static_cast<unsigned char>(kBearer[i]))) return {};
  }
  v.remove_prefix(kBearer.size());
  while (!v.empty() && v.front() == ' ') v.remove_prefix(1);
  while (!v.empty() && v.back() == ' ') v.remove_suffix(1);
  return v;
}

void read_auth(const YAML::Node& n, const std::string& where, AuthConfig& c) {
  config::check_keys(n, where, {"keys", "keys_file", "admin_token", "tenants"});
  read(n, where, "keys_file", c.keys_file);
  read(n, where, "admin_token", c.admin_token);
  if (auto k = n["keys"]) c.keys = read_keys(k, join_key(where, "keys"));
  if (auto t = n["tenants"]) {
    const std::string tw = join_key(where, "tenants");
    if (!t.IsMap()) throw config::KeyError(tw, "must map tenant names to limits");
    for (const auto& kv : t) {
      const auto name = kv.first.as<std::string>();
      read_limits(kv.second, tw + "." + name, c.tenants[name]);
    }
  }
}

Result<std::vector<ApiKey>> parse_keys_file(const std::string& yaml, const std::string& origin) {
  try {
    YAML::Node root = YAML::Load(yaml);
    if (root.IsNull()) return std::vector<ApiKey>{};
    config::check_keys(root, "", {"keys"});
    if (!root["keys"]) return std::vector<ApiKey>{};
    return read_keys(root["keys"], "keys");
  } catch (const config::KeyError& e) {
    return make_error(ErrorKind::kInvalidRequest, origin + ": " + e.key + ": " + e.what(), e.key);
  } catch (const YAML::Exception& e) {
    return make_error(ErrorKind::kInvalidRequest, origin + ": " + e.what());
  }
}

KeyStore::KeyStore(AuthConfig config) : config_(std::move(config)) {
  if (!config_.admin_token.empty()) admin_digest_ = sha256_hex(config_.admin_token);
  auto t = std::make_shared<Table>();
  for (const auto& k : config_.keys) t->emplace(k.digest, std::make_shared<const ApiKey>(k));
  table_.store(std::move(t));
}

Result<bool> KeyStore::reload() {
  if (config_.keys_file.empty()) return true;
  std::lock_guard lock(reload_mu_);
  const int64_t mtime = mtime_ns(config_.keys_file);
  std::ifstream in(config_.keys_file);
  if (mtime < 0 || !in) return make_error(ErrorKind::kInvalidRequest, config_.keys_file + ": cannot open the file", "auth.keys_file");
  std::stringstream ss;
  ss << in.rdbuf();
  auto keys = parse_keys_file(ss.str(), config_.keys_file);
  file_mtime_ns_ = mtime;  // a bad file is not re-read until it changes again
  if (!keys) return keys.error();
  auto t = std::make_shared<Table>();
  for (const auto& k : config_.keys) t->emplace(k.digest, std::make_shared<const ApiKey>(k));
  for (auto& k : *keys) {
    std::string digest = k.digest;  // not k.digest: the key is moved from in the same call
    t->emplace(std::move(digest), std::make_shared<const ApiKey>(std::move(k)));
  }
  const size_t n = t->size();
  table_.store(std::move(t));
  logger("gateway")->info("api keys loaded file={} keys={}", config_.keys_file, n);
  return true;
}

void KeyStore::maybe_reload() {
  if (config_.keys_file.empty()) return;
  const int64_t now =
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch()).count();
  int64_t next = next_check_ns_.load(std::memory_order_relaxed);
  if (now < next || !next_check_ns_.compare_exchange_strong(next, now + 1'000'000'000)) return;
  int64_t known = 0;
  {
    std::lock_guard lock(reload_mu_);
    known = file_mtime_ns_;
  }
  if (mtime_ns(config_.keys_file) == known) return;
  if (auto ok = reload(); !ok) logger("gateway")->error("api keys file refused, keeping the previous keys: {}", ok.error().message);
}

std::shared_ptr<const ApiKey> KeyStore::find(std::string_view token) {
  maybe_reload();
  if (token.empty()) return nullptr;
  const std::string digest = sha256_hex(token);
  auto table = table_.load();
  auto it = table->find(digest);
  // The map compares digests (not keys); a final constant-time check of the match.
  if (it == table->end() || !equal_digests(it->first, digest)) return nullptr;
  return it->second;
}

bool KeyStore::admin(std::string_view token) const {
  if (admin_digest_.empty()) return true;
  return equal_digests(sha256_hex(token), admin_digest_);
}

}  // namespace tidal::gateway
