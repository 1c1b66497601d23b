#include "gateway/config.h"

#include <gtest/gtest.h>

#include "gateway/models_merge.h"
#include "support/paths.h"

namespace tidal::gateway {
namespace {

char* kNoEnv[] = {nullptr};

TEST(GatewayConfigTest, DefaultsNeedNoFile) {
  auto c = parse_config("", "defaults", kNoEnv);
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->port, 8080);
  EXPECT_EQ(c->routing.policy, "least_outstanding");
}

TEST(GatewayConfigTest, ReadsEverySection) {
  auto c = parse_config(R"(
gateway: {port: 9000, threads: 3, max_body_bytes: 1000, max_attempts: 2}
routing: {policy: least_outstanding, choices: 3}
health: {interval_ms: 200, unhealthy_threshold: 4}
pools:
  - name: chat
    models: [llama]
    replicas: [http://127.0.0.1:9001, "127.0.0.1:9002"]
    max_in_flight_per_replica: 8
    queue_timeout_s: 1.5
    local: {count: 2, args: [--preset, cpu-tiny]}
)", "t.yaml", kNoEnv);
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->port, 9000);
  EXPECT_EQ(c->threads, 3u);
  EXPECT_EQ(c->max_body_bytes, 1000u);
  EXPECT_EQ(c->routing.choices, 3u);
  EXPECT_EQ(c->health.interval.count(), 200);
  EXPECT_EQ(c->health.unhealthy_threshold, 4u);
  ASSERT_EQ(c->pools.size(), 1u);
  EXPECT_EQ(c->pools[0].replicas.size(), 2u);
  EXPECT_EQ(c->pools[0].max_in_flight_per_replica, 8u);
  EXPECT_DOUBLE_EQ(c->pools[0].queue_timeout_s, 1.5);
  EXPECT_EQ(c->pools[0].local.count, 2u);
  EXPECT_EQ(c->pools[0].local.args.size(), 2u);
}

TEST(GatewayConfigTest, ErrorsNameTheFileKeyAndReason) {
  auto unknown = parse_config("gateway: {prot: 1}", "t.yaml", kNoEnv);
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().message, "t.yaml: gateway.prot: is not a known key");
  auto type = parse_config("gateway: {port: lots}", "t.yaml", kNoEnv);
  ASSERT_FALSE(type);
  EXPECT_EQ(type.error().message, "t.yaml: gateway.port: has the wrong type");
  auto url = parse_config("pools: [{replicas: ['https://x:1']}]", "t.yaml", kNoEnv);
  ASSERT_FALSE(url);
  EXPECT_NE(url.error().message.find("pools[0].replicas[0]"), std::string::npos);
  auto dup = parse_config("pools: [{name: a}, {name: a}]", "t.yaml", kNoEnv);
  ASSERT_FALSE(dup);
  EXPECT_NE(dup.error().message.find("duplicate"), std::string::npos);
  auto yaml = parse_config("gateway: [", "t.yaml", kNoEnv);
  ASSERT_FALSE(yaml);
  EXPECT_EQ(yaml.error().message.rfind("t.yaml: ", 0), 0u);
}

TEST(GatewayConfigTest, DisconnectWatchAfterIsReadAndNeverNegative) {
  auto defaults = parse_config("", "defaults", kNoEnv);
  ASSERT_TRUE(defaults);
  EXPECT_EQ(defaults->disconnect_watch_after_ms, 50u);
  auto set = parse_config("gateway: {disconnect_watch_after_ms: 0}", "t.yaml", kNoEnv);
  ASSERT_TRUE(set) << set.error().message;
  EXPECT_EQ(set->disconnect_watch_after_ms, 0u);
  auto negative = parse_config("gateway: {disconnect_watch_after_ms: -5}", "t.yaml", kNoEnv);
  ASSERT_FALSE(negative);
  EXPECT_EQ(negative.error().message, "t.yaml: gateway.disconnect_watch_after_ms: has the wrong type");
}

TEST(GatewayConfigTest, EnvironmentOverridesAnyKey) {
  std::string a = "TIDAL_GATEWAY__PORT=9999", b = "TIDAL_POOLS__0__MAX_QUEUE=5", c = "TIDAL_ROUTING__CHOICES=4",
              d = "TIDAL_LOG=ignored", e = "HOME=/root";
  char* env[] = {a.data(), b.data(), c.data(), d.data(), e.data(), nullptr};
  auto cfg = parse_config("pools: [{name: p}]", "t.yaml", env);
  ASSERT_TRUE(cfg) << cfg.error().message;
  EXPECT_EQ(cfg->port, 9999);
  EXPECT_EQ(cfg->pools[0].max_queue, 5u);
  EXPECT_EQ(cfg->routing.choices, 4u);
  std::string bad = "TIDAL_GATEWAY__PORT=many";
  char* env2[] = {bad.data(), nullptr};
  auto err = parse_config("", "t.yaml", env2);
  ASSERT_FALSE(err);
  EXPECT_NE(err.error().message.find("gateway.port"), std::string::npos);
}

TEST(ModelsMergeTest, UnionById) {
  const std::string merged = merge_model_lists({R"({"object":"list","data":[{"id":"a"},{"id":"b"}]})",
                                                R"({"object":"list","data":[{"id":"b"},{"id":"c"}]})", "garbage"});
  EXPECT_EQ(merged, R"({"object":"list","data":[{"id":"a"},{"id":"b"},{"id":"c"}]})");
}


TEST(GatewayConfigTest, ExampleAutoscaleConfigReadsAsShipped) {
  const std::string path = testing_paths::source_dir() + "/examples/serve/autoscale.yaml";
  auto c = load_config(path);
  ASSERT_TRUE(c) << c.error().message;
  ASSERT_TRUE(c->pools.at(0).scaling);
  const auto& s = *c->pools[0].scaling;
  EXPECT_EQ(s.policies, std::vector<std::string>{"hpa"});
  EXPECT_EQ(s.min_replicas, 1);
  EXPECT_EQ(s.max_replicas, 8);
  ASSERT_EQ(s.metrics.size(), 2u);
  EXPECT_EQ(s.metrics[0].name, "concurrency");
  EXPECT_EQ(s.behavior.scale_down.stabilization_window_s, 60.0);
  EXPECT_EQ(c->pools[0].local.count, 2u);
}

TEST(GatewayConfigTest, RefusesABadScalingSectionWithFileKeyAndReason) {
  auto bad = parse_config("pools: [{name: a, scaling: {policy: hpa, maxReplicas: 0}}]", "t.yaml", kNoEnv);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message, "t.yaml: pools[0].scaling.maxReplicas: must be >= max(1, minReplicas)");
  auto typo = parse_config("pools: [{name: a, scaling: {behavior: {scaleDown: {stabilisationWindowSeconds: 5}}}}]",
                           "t.yaml", kNoEnv);
  ASSERT_FALSE(typo);
  EXPECT_EQ(typo.error().message, "t.yaml: pools[0].scaling.behavior.scaleDown.stabilisationWindowSeconds: is not a known key");
  auto policy = parse_config("pools: [{name: a, scaling: {policy: [hpa, magic]}}]", "t.yaml", kNoEnv);
  ASSERT_FALSE(policy);
  EXPECT_NE(policy.error().message.find("unknown policy 'magic'"), std::string::npos);
}

TEST(GatewayConfigTest, RoutingIsReadGloballyAndPerPool) {
  auto c = parse_config(R"(routing: {policy: composite, scorers: {prefix: 2, load: 1}, filters: [budget], token_budget: 9000}
pools:
  - name: chat
    routing: {policy: prefix_affinity, prefix: {max_pending_prefill_tokens: 4096}}
  - name: batch
)", "t.yaml", kNoEnv);
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->routing.policy, "composite");
  ASSERT_EQ(c->routing.scorers.size(), 2u);
  EXPECT_EQ(c->routing.scorers[0].first, "prefix");
  EXPECT_EQ(c->routing.scorers[0].second, 2.0);
  ASSERT_TRUE(c->pools[0].routing);
  EXPECT_EQ(c->pools[0].routing->policy, "prefix_affinity");
  EXPECT_EQ(c->pools[0].routing->prefix.max_pending_prefill_tokens, 4096u);
  EXPECT_EQ(c->pools[0].routing->token_budget, 9000u);  // inherited from the top level
  EXPECT_FALSE(c->pools[1].routing);
  auto all = parse_config("routing: {choices: all}", "t.yaml", kNoEnv);
  ASSERT_TRUE(all);
  EXPECT_EQ(all->routing.choices, routing::kAllChoices);
}

TEST(GatewayConfigTest, RefusesBadRoutingWithTheKeyNamed) {
  auto typo = parse_config("pools: [{name: a, routing: {policy: prefix_afinity}}]", "t.yaml", kNoEnv);
  ASSERT_FALSE(typo);
  EXPECT_NE(typo.error().message.find("t.yaml: pools[0].routing.policy: unknown policy 'prefix_afinity'"), std::string::npos)
      << typo.error().message;
  auto scorer = parse_config("routing: {policy: composite, scorers: {lod: 1}}", "t.yaml", kNoEnv);
  ASSERT_FALSE(scorer);
  EXPECT_NE(scorer.error().message.find("routing.scorers.lod"), std::string::npos) << scorer.error().message;
  auto choices = parse_config("routing: {choices: 0}", "t.yaml", kNoEnv);
  ASSERT_FALSE(choices);
  EXPECT_NE(choices.error().message.find("routing.choices"), std::string::npos);
}

TEST(GatewayConfigTest, UpstreamsTakeNginxWeightAndBackup) {
  auto u = parse_upstream("http://10.0.0.1:8000 weight=3");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->url, "http://10.0.0.1:8000");
  EXPECT_EQ(u->options.weight, 3u);
  EXPECT_FALSE(u->options.backup);
  auto b = parse_upstream("http://10.0.0.2:8000  backup");
  ASSERT_TRUE(b);
  EXPECT_TRUE(b->options.backup);
  EXPECT_EQ(b->options.weight, 1u);
  EXPECT_FALSE(parse_upstream("http://10.0.0.1:8000 weight=0"));
  EXPECT_FALSE(parse_upstream("http://10.0.0.1:8000 weight=x"));
  EXPECT_FALSE(parse_upstream("http://10.0.0.1:8000 max_fails=3"));
  auto bad = parse_config("pools: [{name: a, replicas: ['http://h:1 weight=-2']}]", "t.yaml", kNoEnv);
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("pools[0].replicas[0]: weight must be"), std::string::npos) << bad.error().message;
}


TEST(GatewayConfigTest, AdmissionTiersGloballyAndPerPoolWithTheSingleTierDefault) {
  auto c = parse_config(R"(
admission:
  default_tier: free
  tiers: [{name: paid, max_queue_wait_s: 5}, {name: free, aging_s: 30}]
pools:
  - {name: a}
  - {name: b, max_queue: 7, queue_timeout_s: 2, admission: {fairness: none, tiers: [{name: batch}]}}
  - {name: c}
)", "t.yaml", kNoEnv);
  ASSERT_TRUE(c) << c.error().message;
  const auto a = pool_admission(*c, c->pools[0]);
  ASSERT_EQ(a.tiers.size(), 2u);
  EXPECT_EQ(a.default_index(), 1u);
  EXPECT_DOUBLE_EQ(a.tiers[0].max_queue_wait_s, 5);
  const auto b = pool_admission(*c, c->pools[1]);
  ASSERT_EQ(b.tiers.size(), 1u);
  EXPECT_EQ(b.tiers[0].name, "batch");
  EXPECT_FALSE(b.fair);
  // No tiers anywhere: one tier "default" with the pool's queue limits.
  auto plain = parse_config("pools: [{name: x, max_queue: 7, queue_timeout_s: 2}]", "t.yaml", kNoEnv);
  ASSERT_TRUE(plain);
  const auto x = pool_admission(*plain, plain->pools[0]);
  ASSERT_EQ(x.tiers.size(), 1u);
  EXPECT_EQ(x.tiers[0].name, "default");
  EXPECT_EQ(x.tiers[0].max_queue, 7u);
  EXPECT_DOUBLE_EQ(x.tiers[0].max_queue_wait_s, 2);
}

TEST(GatewayConfigTest, AuthKeysAreHashedAndCheckedAgainstTheTiers) {
  auto c = parse_config(R"(
admission: {tiers: [{name: paid}, {name: free}]}
auth:
  admin_token: t0k
  keys:
    - {key: sk-one, tier: paid, limits: {requests_per_min: 60}}
    - {key_sha256: 4c5dc9b7708905f77f5e5d16316b5dfb425e68cb326dcd55a860e90a7707031e, name: two, tenant: acme}
  tenants: {acme: {tokens_per_min: 1000}}
)", "t.yaml", kNoEnv);
  ASSERT_TRUE(c) << c.error().message;
  ASSERT_EQ(c->auth.keys.size(), 2u);
  EXPECT_EQ(c->auth.keys[0].digest, sha256_hex("sk-one"));
  EXPECT_EQ(c->auth.keys[0].name, sha256_hex("sk-one").substr(0, 8));  // never the key itself
  EXPECT_EQ(c->auth.keys[0].tenant, c->auth.keys[0].name);
  EXPECT_DOUBLE_EQ(c->auth.keys[0].limits.requests_per_min, 60);
  EXPECT_EQ(c->auth.keys[1].tenant, "acme");
  EXPECT_DOUBLE_EQ(c->auth.tenants.at("acme").tokens_per_min, 1000);

  auto both = parse_config("auth: {keys: [{key: a, key_sha256: b}]}", "t.yaml", kNoEnv);
  ASSERT_FALSE(both);
  EXPECT_NE(both.error().message.find("auth.keys[0].key"), std::string::npos) << both.error().message;
  auto tier = parse_config("auth: {keys: [{key: a, tier: gold}]}", "t.yaml", kNoEnv);
  ASSERT_FALSE(tier);
  EXPECT_NE(tier.error().message.find("auth.keys[0].tier"), std::string::npos) << tier.error().message;
  auto fairness = parse_config("admission: {fairness: fifo}", "t.yaml", kNoEnv);
  ASSERT_FALSE(fairness);
  EXPECT_NE(fairness.error().message.find("admission.fairness"), std::string::npos) << fairness.error().message;
}

TEST(KeyStoreTest, FindsKeysByDigestAndChecksTheAdminToken) {
  AuthConfig a;
  a.admin_token = "root";
  ApiKey k;
  k.digest = sha256_hex("sk-1");
  k.name = "one";
  a.keys.push_back(k);
  KeyStore store(a);
  ASSERT_NE(store.find("sk-1"), nullptr);
  EXPECT_EQ(store.find("sk-1")->name, "one");
  EXPECT_EQ(store.find("sk-2"), nullptr);
  EXPECT_EQ(store.find(""), nullptr);
  EXPECT_TRUE(store.admin("root"));
  EXPECT_FALSE(store.admin("sk-1"));
  EXPECT_EQ(bearer_token("Bearer  sk-1 "), "sk-1");
  EXPECT_EQ(bearer_token("bearer sk-1"), "sk-1");
  EXPECT_EQ(bearer_token("Basic abc"), "");
}


TEST(RetryBudgetTest, RetriesStayABoundedShareOfLiveRequests) {
  RetryBudget budget({.percent = 20, .min_concurrency = 2});
  std::vector<std::unique_ptr<RetryBudget::Active>> live;
  for (int i = 0; i < 20; ++i) live.push_back(std::make_unique<RetryBudget::Active>(budget));
  // 20 % of 20 in flight = 4 retries at once.
  int granted = 0;
  for (int i = 0; i < 10; ++i) granted += budget.try_retry() ? 1 : 0;
  EXPECT_EQ(granted, 4);
  budget.end_retry();
  EXPECT_TRUE(budget.try_retry());
  EXPECT_FALSE(budget.try_retry());
  // With little traffic the floor applies.
  RetryBudget quiet({.percent = 20, .min_concurrency = 2});
  RetryBudget::Active one(quiet);
  EXPECT_TRUE(quiet.try_retry());
  EXPECT_TRUE(quiet.try_retry());
  EXPECT_FALSE(quiet.try_retry());
}

TEST(GatewayConfigTest, ResilienceAndRateLimitBackendAreReadAndChecked) {
  auto c = parse_config(R"(
resilience:
  breaker: {consecutive_failures: 3, cooldown_s: 2, max_ejected_pct: 34}
  retry_budget: {percent: 10, min_concurrency: 1}
rate_limits: {backend: redis, redis_url: "redis://10.0.0.5:6380", on_failure: closed}
)", "t.yaml", kNoEnv);
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->resilience.breaker.consecutive_failures, 3u);
  EXPECT_DOUBLE_EQ(c->resilience.retry_budget.percent, 10);
  EXPECT_FALSE(c->rate_limits.fail_open);
  auto url = parse_config("rate_limits: {backend: redis, redis_url: \"http://x\"}", "t.yaml", kNoEnv);
  ASSERT_FALSE(url);
  EXPECT_NE(url.error().message.find("rate_limits.redis_url"), std::string::npos) << url.error().message;
  auto rate = parse_config("resilience: {breaker: {failure_rate: 2}}", "t.yaml", kNoEnv);
  ASSERT_FALSE(rate);
  EXPECT_NE(rate.error().message.find("resilience.breaker.failure_rate"), std::string::npos) << rate.error().message;
}

}  // namespace
}  // namespace tidal::gateway
