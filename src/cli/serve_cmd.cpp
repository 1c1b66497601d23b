#include <unistd.h>

#include <algorithm>

#include "cli/commands.h"
#include "cli/gateway_flags.h"
#include "common/log.h"
#include "common/signals.h"
#include "engine/model/preset.h"
#include "fleet/local_replicas.h"
#include "gateway/gateway_server.h"
#include "scaling/io/controller.h"
#include "scaling/io/kube_actuator.h"

namespace tidal::cli {
namespace {

// The controller's hooks into the gateway for one pool.
scaling::PoolHooks hooks_for(gateway::Gateway& gw, const gateway::PoolConfig& pool) {
  scaling::PoolHooks h;
  const std::string name = pool.name;
  h.load = [&gw, name] { return gw.load(name); };
  h.queue_depth = [&gw, name] { return static_cast<double>(gw.queue_depth(name)); };
  h.samples = [&gw, name] { return gw.take_samples(name); };
  // Engine metrics older than three scrape intervals are stale: left out (missing).
  const auto fresh_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(3 * gw.config().scrape.interval).count();
  h.replicas = [&gw, name, fresh_ns] {
    std::vector<scaling::ReplicaStatus> out;
    const int64_t now = std::chrono::steady_clock::now().time_since_epoch().count();
    for (const fleet::Replica* r : *gw.registry().snapshot()) {
      if (r->pool != name) continue;
      scaling::ReplicaStatus st{r->id, r->state.load(), static_cast<double>(r->in_flight.load()), {}, {}, {}};
      const int64_t at = r->scraped_at_ns.load();
      if (at != 0 && now - at <= fresh_ns) {
        st.kv_usage = r->kv_usage.load();
        st.engine_waiting = static_cast<double>(r->engine_waiting.load());
        if (const uint32_t total = r->slots_total.load()) st.slot_usage = r->slots_busy.load() / static_cast<double>(total);
      }
      out.push_back(st);
    }
    return out;
  };
  h.add = [&gw, name](const std::string& url) -> Result<uint32_t> { return gw.add_replica(name, url); };
  h.drain = [&gw](uint32_t id) { gw.registry().set_state(id, fleet::ReplicaState::kDraining, "scale-down"); };
  h.retire = [&gw](uint32_t id, std::string_view reason) { gw.retire_replica(id, reason); };
  h.on_tick = [&gw, name](const scaling::TickReport& r, const scaling::Signals& s) {
    gw.record_fleet(name, s.starting, s.ready, s.draining, r.decision.desired);
    // The ready replicas' mean CPU and memory, for the pool's offload thresholds.
    static const double host_bytes = static_cast<double>(::sysconf(_SC_PHYS_PAGES)) * static_cast<double>(::sysconf(_SC_PAGESIZE));
    double cpu = 0, mem = 0;
    int ncpu = 0, nmem = 0;
    for (const auto& rs : s.replicas) {
      if (!rs.ready) continue;
      if (rs.cpu_pct) cpu += *rs.cpu_pct, ++ncpu;
      if (rs.memory_bytes && host_bytes > 0) mem += 100 * *rs.memory_bytes / host_bytes, ++nmem;
    }
    gw.record_host(name, ncpu ? cpu / ncpu : -1, nmem ? mem / nmem : -1);
    const auto& d = r.decision;
    if (d.desired != d.current) gw.count_decision(name, d.desired > d.current ? "up" : "down", d.policy);
  };
  h.max_in_flight_per_replica = pool.max_in_flight_per_replica;
  return h;
}

// "--preset NAME" or "--preset=NAME" among a local engine command's arguments, if it names a known preset.
std::string preset_in(const std::vector<std::string>& args) {
  for (size_t i = 0; i < args.size(); ++i) {
    std::string name;
    if (args[i] == "--preset" && i + 1 < args.size()) name = args[i + 1];
    if (args[i].starts_with("--preset=")) name = args[i].substr(9);
    if (!name.empty() && engine::find_preset(name)) return name;
  }
  return {};
}

}  // namespace

Action add_serve_command(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "serve", "Run the gateway and its autoscaled fleet; by default local `tidal engine` replicas it starts itself");
  auto flags = add_gateway_flags(*cmd);
  auto replicas = std::make_shared<uint32_t>(2);
  auto fixed = std::make_shared<bool>(false);
  auto engine_args = std::make_shared<std::vector<std::string>>();
  cmd->add_option("--replicas", *replicas, "Initial local replicas for the first pool when the config names none")
      ->capture_default_str();
  cmd->add_flag("--fixed", *fixed, "Keep the embedded default at --replicas (no autoscaling; dead replicas are still replaced)");
  cmd->add_option("--engine-arg", *engine_args,
                  "Extra argument for the local `tidal engine` replicas (repeatable), e.g. --engine-arg=--preset=cpu-tiny");

  return [flags, replicas, fixed, engine_args] {
    auto config = load_gateway_config(*flags);
    if (!config) {
      std::fprintf(stderr, "tidal serve: %s\n", config.error().message.c_str());
      return 2;
    }
    // Embedded default: local engine replicas, autoscaled with the recommended policy,
    // for a first pool that lists no replicas of its own.
    auto& first = config->pools.front();
    if (first.replicas.empty() && first.local.count == 0 && !first.scaling) {
      first.local.count = std::max(1u, *replicas);
      if (!*fixed) first.scaling = scaling::recommended_config();
    }
    for (auto& p : config->pools) {
      if (p.local.command.empty()) p.local.command = {self_executable(), "engine"};
      for (const auto& a : *engine_args) p.local.args.push_back(a);
      // Local replicas are the controller's to replace when late: health checks wait as long.
      if (p.local.count > 0 || p.scaling) {
        config->health.ready_timeout_s = std::max(config->health.ready_timeout_s, p.local.ready_timeout_s);
      }
    }
    auto gw = gateway::Gateway::create(*config);
    if (!gw) {
      std::fprintf(stderr, "tidal serve: %s\n", gw.error().message.c_str());
      return 2;
    }
    block_shutdown_signals();
    fleet::LocalReplicas local;
    std::vector<std::unique_ptr<scaling::Controller>> controllers;
    for (const auto& p : (*gw)->config().pools) {
      if (p.local.count == 0 && !p.scaling) continue;
      scaling::ScalingConfig sc;
      if (p.scaling) {
        sc = *p.scaling;
      } else {  // a fixed size: the controller only replaces replicas that die
        sc.policies = {"static"};
        sc.replicas = sc.min_replicas = sc.max_replicas = static_cast<int>(p.local.count);
      }
      sc.ready_timeout_s = p.local.ready_timeout_s;
      // The slo policy plans batches up to the gateway's limit per replica, and takes a
      // `tidal engine --preset` of the local command as its prior.
      if (sc.slo.max_batch == 0) sc.slo.max_batch = p.max_in_flight_per_replica;
      if (sc.slo.prior.empty()) sc.slo.prior = preset_in(p.local.args);
      std::unique_ptr<scaling::Controller> c;
      int initial = sc.actuator == "dry-run" ? 0 : p.local.count ? static_cast<int>(p.local.count) : sc.min_replicas;
      if (sc.actuator == "kubernetes") {
        initial = 0;  // the Deployment's pods are discovered, not started
        c = std::make_unique<scaling::Controller>(p.name, sc, hooks_for(**gw, p), [kc = sc.kubernetes](scaling::PoolHooks& h) {
          return scaling::KubeActuator::create(kc, h);
        });
      } else {
        c = std::make_unique<scaling::Controller>(p.name, sc, hooks_for(**gw, p), local,
                                                  scaling::LocalCommand{p.local.command, p.local.args, p.local.stop_grace_s});
      }
      if (auto ok = c->start(initial); !ok) {
        std::fprintf(stderr, "tidal serve: pool %s: %s\n", p.name.c_str(), ok.error().message.c_str());
        return 1;
      }
      if (sc.min_replicas == 0 && sc.actuator == "local") {
        (*gw)->wait_at_zero(p.name, [ctl = c.get()] { ctl->poke(); });
      }
      controllers.push_back(std::move(c));
    }
    (*gw)->set_admin_scaling([&controllers] {
      std::string out = "{\"pools\":[";
      for (size_t i = 0; i < controllers.size(); ++i) out.append(i ? "," : "").append(controllers[i]->admin_json());
      return out.append("]}");
    });
    (*gw)->start();
    logger("serve")->info("gateway ready url=http://{}:{} pools={} controllers={}", (*gw)->config().host, (*gw)->port(),
                          (*gw)->config().pools.size(), controllers.size());
    const int sig = wait_for_shutdown_signal();
    logger("serve")->info("shutting down signal={}", sig);
    for (auto& c : controllers) c->stop();  // the fleet stays as it is while requests finish
    (*gw)->drain((*gw)->config().drain_timeout_s);
    (*gw)->stop();
    (*gw)->join();
    local.stop_all();
    return 0;
  };
}

}  // namespace tidal::cli
