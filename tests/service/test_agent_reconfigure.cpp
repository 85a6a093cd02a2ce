// PlannerAgent::reconfigure: a configuration reload swaps the house rules and the topology
// between events. A router blocked on a Gate holds one event in flight across the swap.

#include <catch2/catch.hpp>

#include "support/agent_fixture.hpp"

using namespace planner;
using namespace planner::testing;

namespace {

/// Every answer says restart, whatever the rules: a model that ignores them.
FakeRouter::Responder gated_restart(Gate& gate) {
    return [&gate](const std::vector<ChatMessage>& messages) {
        if (messages[1].content.find("\"service\": \"slow\"") != std::string::npos) gate.enter();
        nlohmann::json block = nlohmann::json::parse(messages[1].content.substr(
            messages[1].content.find('{'),
            messages[1].content.rfind('}') - messages[1].content.find('{') + 1));
        return make_route_result("restart", block["service"], block["node"], "restart it", 0.95,
                                 false);
    };
}

HouseRules locked_down() {
    HouseRules rules;
    rules.allowed_actions["k3s-a/slow"] = {"notify"};
    rules.allowed_actions["k3s-a/fast"] = {"ignore", "notify"};
    rules.human_only_service_patterns = {"*/fast"};
    return rules;
}

}  // namespace

TEST_CASE("reconfigure: in-flight work keeps the old rules, the next event gets the new",
          "[agent][reconfigure]") {
    Gate gate;
    PlannerAgentOptions options;
    options.rules.human_only_node_patterns = {};
    AgentFixture f(gated_restart(gate), options);
    f.agent.start();
    REQUIRE(f.agent.submit(make_health_event("k3s-a", "slow")) == IntakeResult::queued);
    REQUIRE(gate.wait_entered(1));

    const std::string before = f.agent.system_prompt();
    PromptOptions prompt;
    prompt.topology.nodes = {{"k3s-a", "k3s server", {{"slow"}, {"fast", {"slow"}}}}};
    f.agent.reconfigure(locked_down(), prompt);
    CHECK(f.agent.system_prompt() == build_system_prompt(locked_down(), prompt));
    CHECK(f.agent.system_prompt() != before);

    gate.open();
    REQUIRE(f.agent.wait_idle(std::chrono::seconds{10}));
    REQUIRE(f.actions.written().size() == 1);
    CHECK(f.actions.written()[0].action == "restart");  // planned under the old rules
    CHECK(f.actions.written()[0].policy_corrections.empty());

    REQUIRE(f.agent.submit(make_health_event("k3s-a", "fast")) == IntakeResult::queued);
    REQUIRE(f.agent.wait_idle(std::chrono::seconds{10}));
    REQUIRE(f.actions.written().size() == 2);
    const auto fast = f.actions.written()[1];
    CHECK(fast.action == "notify");  // the model said restart; the new rules allow ignore, notify
    CHECK(fast.requires_human);
    // The prompt of that event told the model the new rules and its neighbour.
    const auto calls = f.router.calls();
    REQUIRE(calls.size() == 2);
    CHECK_THAT(calls[1][1].content, Catch::Contains("Allowed actions for this service (enforced): "
                                                    "ignore, notify"));
    CHECK_THAT(calls[1][1].content, Catch::Contains("This service depends on: k3s-a/slow"));
    CHECK(calls[1][0].content == f.agent.system_prompt());

    // Cooldowns and counters survived the swap.
    CHECK(f.agent.submit(make_health_event("k3s-a", "slow")) == IntakeResult::cooldown);
    CHECK(f.agent.counters().cooldown == 1);
    CHECK(f.agent.counters().routed == 2);
    f.agent.stop();
}
