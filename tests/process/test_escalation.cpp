// Flap escalation through planner-run: rules.escalate from the file, the history rebuilt at
// start. The agent-level cases: service/test_escalation.cpp; the decision:
// core/test_escalation.cpp.

#include <chrono>
#include <filesystem>
#include <map>

#include <catch2/catch.hpp>

#include "planner/agent.hpp"
#include "planner/agent_testing.hpp"
#include "planner/file_action_store.hpp"
#include "planner/file_sinks.hpp"
#include "planner/plan.hpp"
#include "planner/testing.hpp"
#include "support/action_files.hpp"
#include "support/action_store_dirs.hpp"
#include "support/agent_fixture.hpp"
#include "support/planner_run_process.hpp"
#include "support/provider_server.hpp"
#include "support/temp_dir.hpp"
#include "support/wire_formats.hpp"

using planner::testing::as_json;
using namespace planner;
using namespace planner::testing;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

#ifdef PLANNER_RUN_PATH

TEST_CASE("planner-run: rules.escalate from the file, the history rebuilt at start",
          "[escalation][planner-run]") {
    TempDir tmp;
    ProviderServer model;
    model.respond_with(
        [](const RecordedRequest&) { return OllamaWire::answer(valid_proposal().dump()); });
    write_text(tmp / "planner.yaml", "rules:\n  escalate: {after: 2, window: 6h}\n");
    write_text(
        tmp / "events.jsonl",
        nlohmann::json{{"type", "service_unhealthy"}, {"node", "piha"}, {"service", "a"}}.dump() +
            "\n");
    const auto so = action_store_dirs(tmp.path());
    // What an earlier planner process left: a restart of piha/a an hour ago, rejected. (Written
    // here rather than by a first run, so that it is an hour old.)
    std::string earlier_id;
    {
        fs::create_directories(so.actions_dir);
        FileActionSink sink(so.actions_dir, {false});
        auto earlier =
            make_proposal(make_health_event("piha", "a"), make_route_result("restart", "a"));
        earlier.created_at = std::chrono::system_clock::now() - 1h;
        earlier.action_id = make_action_id(make_health_event("piha", "a"), earlier.created_at, 1);
        earlier_id = earlier.action_id;
        sink.write(earlier);
        FileActionStore(so).reject(earlier_id, "alice", "flaky");
    }

    const auto run =
        run_replay_in_dir(PLANNER_RUN_PATH, tmp, "ollama/qwen2.5:7b@" + model.url(), "escalate");
    REQUIRE(run.exit_code == 0);
    const auto& lines = run.lines;
    CHECK(lines.front()["event"] == "planner_started");
    CHECK(lines.front()["escalation_seeded"] == 1);
    CHECK(lines.back()["escalated"]["proposal"] == 1);
    const auto files = as_json(FileActionStore(so).list());
    REQUIRE(files.size() == 2);
    const auto& second = files[1];  // oldest first
    CHECK(second["escalated"] == true);
    CHECK(second["requires_human"] == true);
    REQUIRE(second["history"].size() == 1);
    CHECK(second["history"][0]["action_id"] == earlier_id);
    CHECK(second["history"][0]["status"] == "rejected");
    bool logged = false;
    for (const auto& l : lines) {
        if (l["event"] == "proposal_escalated") {
            logged = true;
            CHECK(l["reasons"] == nlohmann::json::array({"flapping"}));
        }
    }
    CHECK(logged);
}

#endif  // PLANNER_RUN_PATH
