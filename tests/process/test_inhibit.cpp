// Dependency-aware inhibition through planner-run --replay with a configuration. The
// agent-level cases: service/test_inhibit.cpp; the tracker: core/test_incidents.cpp.

#include <chrono>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include "planner/agent.hpp"
#include "planner/agent_testing.hpp"
#include "planner/file_action_store.hpp"
#include "planner/file_sinks.hpp"
#include "planner/testing.hpp"
#include "support/action_store_dirs.hpp"
#include "support/agent_fixture.hpp"
#include "support/gate.hpp"
#include "support/temp_dir.hpp"

using namespace planner;
using namespace planner::testing;
using namespace std::chrono_literals;

#ifdef PLANNER_RUN_PATH

#include "support/planner_run_process.hpp"
#include "support/process.hpp"
#include "support/vps_topology.hpp"

using planner::testing::as_json;

TEST_CASE("planner-run --replay with a configuration plans the root cause, not its dependent",
          "[inhibit]") {
    namespace fs = std::filesystem;
    TempDir tmp;
    {
        std::ofstream(tmp / "planner.yaml") << kVpsInhibitYaml;
        std::ofstream(tmp / "events.jsonl") << event_json("vps", "traefik") << "\n"
                                            << event_json("vps", "vaultwarden") << "\n";
    }
    PlannerRunProcess run(
        PLANNER_RUN_PATH, tmp,
        {"--config", (tmp / "planner.yaml").string(), "--replay", (tmp / "events.jsonl").string(),
         "--model", "rules", "--log-format", "json", "--log-level", "debug", "--cooldown", "0",
         "--actions-dir", (tmp / "actions").string(), "--events-dir", (tmp / "events").string()});
    REQUIRE(run.wait(60s) == 0);
    INFO(run.stderr_text());
    const auto actions = files_under(tmp / "actions");
    REQUIRE(actions.size() == 1);
    CHECK(nlohmann::json::parse(read_text(actions[0]))["service"] == "traefik");
    CHECK(run.count_log("skip_inhibited", "key", "vps/vaultwarden") == 1);
    const auto summary = run.log_lines().back();
    CHECK(summary["event"] == "planner_stopped");
    CHECK(summary["skipped"]["inhibited"] == 1);
}

#endif  // PLANNER_RUN_PATH
