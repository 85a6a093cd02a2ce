// Remediation budgets through the agent (fakes, ManualClock). Through planner-run, across a
// restart: process/test_budget.cpp; the budget itself: core/test_remediation_budget.cpp.

#include <chrono>
#include <filesystem>

#include <catch2/catch.hpp>

#include "planner/agent.hpp"
#include "planner/agent_testing.hpp"
#include "planner/file_action_store.hpp"
#include "planner/testing.hpp"
#include "support/agent_fixture.hpp"
#include "support/temp_dir.hpp"

using namespace planner;
using namespace planner::testing;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

PlannerAgentOptions with_budget(std::size_t per_node, std::size_t per_homelab) {
    PlannerAgentOptions o;
    o.rules.budget = {per_node, per_homelab, 1h};
    return o;
}

bool has_correction(const ActionProposal& p, const std::string& text) {
    return std::find(p.policy_corrections.begin(), p.policy_corrections.end(), text) !=
           p.policy_corrections.end();
}

}  // namespace

TEST_CASE("beyond the node's budget the agent forces requires_human, counts and logs it",
          "[budget]") {
    AgentFixture f(make_route_result(), with_budget(2, 0));
    CHECK(handle_event(f.agent, make_health_event("piha", "a")) == HandleResult::proposed);
    CHECK(handle_event(f.agent, make_health_event("piha", "b")) == HandleResult::proposed);
    CHECK(handle_event(f.agent, make_health_event("piha", "c")) == HandleResult::proposed);
    CHECK(handle_event(f.agent, make_health_event("solaria", "d")) == HandleResult::proposed);
    const auto written = f.actions.written();
    REQUIRE(written.size() == 4);
    CHECK_FALSE(written[0].requires_human);
    CHECK_FALSE(written[1].requires_human);
    CHECK(written[2].requires_human);
    CHECK(has_correction(written[2],
                         "requires_human forced: automatic budget of 2 per hour on piha used up"));
    CHECK(written[2].to_action_file()["description"].get<std::string>().find(
              "automatic budget of 2 per hour on piha used up") != std::string::npos);
    CHECK_FALSE(written[3].requires_human);  // solaria's own budget

    CHECK(f.agent.counters().budget_forced_human == 1);
    CHECK(f.agent.counters().to_json()["budget_forced_human"] == 1);
    const auto lines = f.log.lines("budget_used_up");
    REQUIRE(lines.size() == 1);
    CHECK(lines[0].level == LogLevel::warn);
    CHECK(lines[0].fields["key"] == "piha/c");
    CHECK(lines[0].fields["scope"] == "node");
    CHECK(lines[0].fields["limit"] == 2);
    CHECK(lines[0].fields["action_id"] == written[2].action_id);

    // An hour later the window has slid past the first two.
    f.clock.advance(1h);
    CHECK(handle_event(f.agent, make_health_event("piha", "e")) == HandleResult::proposed);
    CHECK_FALSE(f.actions.written().back().requires_human);
}

TEST_CASE("proposals a human approves anyway, and ignores, take no budget", "[budget]") {
    SECTION("requires_human from the model or the rules") {
        AgentFixture f(make_route_result("restart", "a", "piha", "r", 0.9, true),
                       with_budget(1, 1));
        for (const char* svc : {"a", "b", "c"}) {
            CHECK(handle_event(f.agent, make_health_event("piha", svc)) == HandleResult::proposed);
        }
        CHECK(f.agent.counters().budget_forced_human == 0);
        CHECK(f.agent.budget().used(1h) == 0);
    }
    SECTION("ignore") {
        AgentFixture f(make_route_result("ignore"), with_budget(1, 1));
        CHECK(handle_event(f.agent, make_health_event("piha", "a")) == HandleResult::ignored);
        CHECK(f.agent.budget().used(1h) == 0);
    }
    SECTION("a write that failed gives its unit back") {
        AgentFixture f(make_route_result(), with_budget(1, 0));
        f.actions.fail_next();
        CHECK(handle_event(f.agent, make_health_event("piha", "a")) == HandleResult::write_failed);
        CHECK(handle_event(f.agent, make_health_event("piha", "b")) == HandleResult::proposed);
        CHECK_FALSE(f.actions.written().back().requires_human);
    }
}

TEST_CASE("the homelab budget, and a reload changes the limits without forgetting", "[budget]") {
    AgentFixture f(make_route_result(), with_budget(0, 2));
    CHECK(handle_event(f.agent, make_health_event("piha", "a")) == HandleResult::proposed);
    CHECK(handle_event(f.agent, make_health_event("solaria", "b")) == HandleResult::proposed);
    CHECK(handle_event(f.agent, make_health_event("vps", "c")) == HandleResult::proposed);
    CHECK(has_correction(
        f.actions.written().back(),
        "requires_human forced: automatic budget of 2 per hour for the homelab used up"));
    HouseRules rules;
    rules.budget = {0, 3, 1h};
    f.agent.reconfigure(rules, {});
    CHECK(handle_event(f.agent, make_health_event("vps", "d")) == HandleResult::proposed);
    CHECK_FALSE(f.actions.written().back().requires_human);
    CHECK(handle_event(f.agent, make_health_event("vps", "e")) == HandleResult::proposed);
    CHECK(f.actions.written().back().requires_human);
}
