// API keys: who a request is (Authorization: Bearer ...), its tier, tenant, allowed
// models and rate limits; the admin token for /admin/*. Keys come from the config and
// from an optional YAML file re-read when it changes. Lookups go by SHA-256 digest
// (compared in constant time), so neither timing nor logs reveal a key: logs name a
// key by its `name` or the first 8 hex digits of its digest.
//
//   auth:
//     admin_token: s3cret                 # /admin/* needs "Authorization: Bearer s3cret"
//     keys_file: /etc/tidal/keys.yaml     # {keys: [...]}, same fields; reloaded on change
//     keys:
//       - {key: sk-team-a, name: team-a, tenant: acme, tier: paid, models: [llama3],
//          limits: {requests_per_min: 600, tokens_per_min: 200000}, priority_header: true}
//     tenants: {acme: {tokens_per_min: 500000}}
#pragma once

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "admission/rate_limit.h"
#include "common/error.h"

namespace YAML {
class Node;
}

namespace tidal::gateway {

struct ApiKey {
  std::string name;                   // for logs and metrics; default: the digest's first 8 hex digits
  std::string digest;                 // SHA-256 of the key, 64 hex digits (`key` is hashed at load; or `key_sha256`)
  std::string tenant;                 // fairness and tenant limits; default: name
  std::string tier;                   // admission tier; empty: the pool's default tier
  bool priority_header = false;       // may choose its tier with x-tidal-priority
  std::vector<std::string> models;    // allowed models; empty: any
  admission::RateLimits limits;
};

struct AuthConfig {
  std::vector<ApiKey> keys;
  std::string keys_file;              // optional; its keys join the config's
  std::string admin_token;            // empty: /admin/* is open
  std::map<std::string, admission::RateLimits> tenants;

  [[nodiscard]] bool enabled() const { return !keys.empty() || !keys_file.empty(); }
};

// Reads an `auth:` mapping; throws config::KeyError naming the dotted key.
void read_auth(const YAML::Node& node, const std::string& where, AuthConfig& out);
// Reads a keys file's text ({keys: [...]}); errors name the file and key.
[[nodiscard]] Result<std::vector<ApiKey>> parse_keys_file(const std::string& yaml, const std::string& origin);

[[nodiscard]] std::string sha256_hex(std::string_view data);

class KeyStore {
 public:
  explicit KeyStore(AuthConfig config);

  // The key a Bearer token names, or nullptr. Re-reads the keys file at most once a
  // second when its modification time changed (a bad file is logged and ignored).
  [[nodiscard]] std::shared_ptr<const ApiKey> find(std::string_view token);
  // Whether `token` is the admin token (constant time); true if none is configured.
  [[nodiscard]] bool admin(std::string_view token) const;
  [[nodiscard]] bool enabled() const { return config_.enabled(); }
  [[nodiscard]] const AuthConfig& config() const { return config_; }
  // Loads the keys file now; the error names the file and key.
  Result<bool> reload();

 private:
  using Table = std::map<std::string, std::shared_ptr<const ApiKey>>;  // digest → key
  void maybe_reload();

  AuthConfig config_;
  std::string admin_digest_;
  std::atomic<std::shared_ptr<const Table>> table_;
  std::mutex reload_mu_;
  std::atomic<int64_t> next_check_ns_{0};
  int64_t file_mtime_ns_ = -1;
};

// The token of an "Authorization: Bearer <token>" header value, or empty.
[[nodiscard]] std::string_view bearer_token(std::string_view authorization);

}  // namespace tidal::gateway
