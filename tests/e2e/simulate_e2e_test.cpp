// `tidal simulate` as a user runs it: policy files, JSON and an HTML report that a real
// browser (Debian's chromium, headless) renders with its charts.
#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <fstream>
#include <sstream>

#include "e2e/support.h"
#include "support/paths.h"

namespace tidal::e2e {
namespace {

using namespace std::chrono_literals;

TEST(SimulateE2E, ComparesPoliciesAndWritesJsonAndHtmlThatABrowserRenders) {
  const std::string dir = "/tmp/tidal-sim-e2e-" + std::to_string(::getpid());
  const std::string json = dir + ".json", html = dir + ".html";
  const std::string examples = testing_paths::source_dir() + "/examples/sim/";
  Process sim({"simulate", "--scenario", "spike", "--rate", "2", "--seed", "7", "--compare", examples + "static-peak.yaml",
               examples + "threshold.yaml", "--json", json, "--html", html});
  ASSERT_EQ(sim.wait(120s), 0) << sim.log();
  EXPECT_NE(sim.log().find("static-peak"), std::string::npos);
  auto runs = boost::json::parse(read_file(json)).at("runs").as_array();
  ASSERT_EQ(runs.size(), 2u);
  EXPECT_EQ(runs[0].at("policy").as_string(), "static-peak");
  EXPECT_EQ(runs[1].at("policy").as_string(), "threshold");
  EXPECT_EQ(runs[0].at("requests"), runs[1].at("requests"));  // same workload, same seed

  // Headless chromium runs the page's scripts; Chart.js sizes every canvas it draws.
  Process browser({"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                   "--disable-background-networking", "--disable-component-update", "--disable-sync",
                   "--user-data-dir=" + dir + "-profile", "--window-size=1200,2000", "--virtual-time-budget=5000",
                   "--dump-dom", "file://" + html},
                  {}, "/usr/bin/chromium");
  ASSERT_EQ(browser.wait(60s), 0) << browser.log();
  const std::string dom = browser.log();
  size_t drawn = 0;
  for (size_t pos = 0; (pos = dom.find("<canvas", pos)) != std::string::npos; ++pos) {
    const size_t end = dom.find('>', pos);
    if (dom.substr(pos, end - pos).find("height:") != std::string::npos) ++drawn;
  }
  // Arrivals, replicas by state (one per policy), queue depth, TTFT p95, cost.
  EXPECT_EQ(drawn, 6u) << dom.substr(0, 2000);
  EXPECT_NE(dom.find("static-peak"), std::string::npos);
  std::remove(json.c_str());
  std::remove(html.c_str());
  std::system(("rm -rf " + dir + "-profile").c_str());
}

TEST(SimulateE2E, BadInputIsOneLineAndExitTwo) {
  for (std::vector<std::string> args : {std::vector<std::string>{"simulate", "--scenario", "tsunami"},
                                        std::vector<std::string>{"simulate", "--rate", "0"},
                                        std::vector<std::string>{"simulate", "--input-tokens", "lots"}}) {
    Process p(args);
    EXPECT_EQ(p.wait(10s), 2) << args[1];
    const auto log = p.log();
    EXPECT_EQ(std::count(log.begin(), log.end(), '\n'), 1) << log;
  }
}

}  // namespace
}  // namespace tidal::e2e
