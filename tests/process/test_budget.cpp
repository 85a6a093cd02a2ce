// Remediation budgets through planner-run --replay against a loopback model that always says
// "restart, no human needed", across a restart. The agent-level cases: service/test_budget.cpp.

#include <chrono>
#include <filesystem>

#include <catch2/catch.hpp>

#include "planner/agent.hpp"
#include "planner/agent_testing.hpp"
#include "planner/file_action_store.hpp"
#include "planner/testing.hpp"
#include "support/agent_fixture.hpp"
#include "support/planner_run_process.hpp"
#include "support/provider_server.hpp"
#include "support/temp_dir.hpp"
#include "support/wire_formats.hpp"

using namespace planner;
using namespace planner::testing;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

#ifdef PLANNER_RUN_PATH

TEST_CASE("planner-run: a budget of 1 forces requires_human on the second, also after a restart",
          "[budget]") {
    TempDir tmp;
    ProviderServer model;
    model.respond_with(
        [](const RecordedRequest&) { return OllamaWire::answer(valid_proposal().dump()); });
    {
        std::FILE* f = std::fopen((tmp / "planner.yaml").c_str(), "w");
        std::fputs("rules:\n  budget: {per_node: 1, window: 1h}\n", f);
        std::fclose(f);
    }
    const auto write_events = [&](const std::vector<std::string>& services) {
        std::string text;
        for (const auto& s : services) {
            text += nlohmann::json{{"type", "service_unhealthy"}, {"node", "piha"}, {"service", s}}
                        .dump() +
                    "\n";
        }
        std::FILE* f = std::fopen((tmp / "events.jsonl").c_str(), "w");
        std::fputs(text.c_str(), f);
        std::fclose(f);
    };
    const auto run = [&](const std::string& tag) {
        auto r = run_replay_in_dir(PLANNER_RUN_PATH, tmp, "ollama/qwen2.5:7b@" + model.url(), tag);
        REQUIRE(r.exit_code == 0);
        return r.lines;
    };
    const auto by_service = [&] {
        std::map<std::string, nlohmann::json> out;
        for (const auto& path : files_under(tmp / "actions")) {
            auto j = nlohmann::json::parse(read_text(path));
            out[j["service"].get<std::string>()] = j;
        }
        return out;
    };

    write_events({"a", "b"});
    auto lines = run("first");
    auto actions = by_service();
    REQUIRE(actions.size() == 2);
    // One worker plans them in file order.
    CHECK(actions["a"]["requires_human"] == false);
    CHECK(actions["b"]["requires_human"] == true);
    CHECK(actions["b"]["description"].get<std::string>().find(
              "automatic budget of 1 per hour on piha used up") != std::string::npos);
    CHECK(lines.back()["event"] == "planner_stopped");
    CHECK(lines.back()["budget_forced_human"] == 1);

    // A restart within the hour remembers "a" from its file.
    write_events({"c"});
    lines = run("restarted");
    CHECK(lines.front()["event"] == "planner_started");
    CHECK(lines.front()["budget_seeded"] == 1);
    actions = by_service();
    REQUIRE(actions.size() == 3);
    CHECK(actions["c"]["requires_human"] == true);
    CHECK(lines.back()["budget_forced_human"] == 1);
}

#endif  // PLANNER_RUN_PATH
