#include <catch2/catch.hpp>

#include <planner/policy.hpp>
#include <planner/testing.hpp>

using planner::ActionProposal;
using planner::apply_policy;
using planner::HouseRules;
using planner::testing::make_health_event;

namespace {
ActionProposal proposal(std::string action, std::string node, std::string service,
                        double confidence, bool requires_human) {
    return testing::a_proposal()
        .action(std::move(action))
        .node(std::move(node))
        .service(std::move(service))
        .reason("model reason")
        .confidence(confidence)
        .requires_human(requires_human);
}
bool mentions(const ActionProposal& p, const std::string& text) {
    for (const auto& c : p.policy_corrections) {
        if (c.find(text) != std::string::npos) return true;
    }
    return false;
}
}  // namespace

TEST_CASE("a compliant proposal is left alone", "[policy]") {
    auto p = proposal("restart", "piha", "mosquitto", 0.9, false);
    apply_policy(p, make_health_event("piha", "mosquitto"));
    CHECK(p.policy_corrections.empty());
    CHECK(p.action == "restart");
    CHECK_FALSE(p.requires_human);
    CHECK(p.type == "container_restart");
    CHECK(p.risk_level == "low");
}

TEST_CASE("chelsty nodes always need a human", "[policy]") {
    for (auto node : {"chelsty-infra", "chelsty", "chelsty-nas"}) {
        auto p = proposal("restart", node, "mosquitto", 0.99, false);
        apply_policy(p, make_health_event(node, "mosquitto"));
        INFO(node);
        CHECK(p.requires_human);
        CHECK(mentions(p, "always needs a human"));
    }
}

TEST_CASE("similar names are not chelsty", "[policy]") {
    auto p = proposal("restart", "my-chelsty", "svc", 0.99, false);
    apply_policy(p, make_health_event("my-chelsty", "svc"));
    CHECK_FALSE(p.requires_human);
}

TEST_CASE("disk_pressure is always notify", "[policy]") {
    for (auto action : {"restart", "redeploy", "ignore"}) {
        auto p = proposal(action, "piha", "docker", 0.95, false);
        apply_policy(p, make_health_event("piha", "docker", "disk_pressure"));
        INFO(action);
        CHECK(p.action == "notify");
        CHECK(p.type == "notify");
        CHECK(p.risk_level == "low");
        CHECK(mentions(p, "disk_pressure is always notify"));
    }
}

TEST_CASE("notify on disk_pressure is not a correction", "[policy]") {
    auto p = proposal("notify", "piha", "docker", 0.95, false);
    apply_policy(p, make_health_event("piha", "docker", "disk_pressure"));
    CHECK(p.policy_corrections.empty());
}

TEST_CASE("low confidence needs a human", "[policy]") {
    auto p = proposal("restart", "piha", "mosquitto", 0.69, false);
    apply_policy(p, make_health_event());
    CHECK(p.requires_human);
    CHECK(mentions(p, "confidence below threshold"));
}

TEST_CASE("confidence at the threshold does not need a human", "[policy]") {
    auto p = proposal("restart", "piha", "mosquitto", 0.7, false);
    apply_policy(p, make_health_event());
    CHECK_FALSE(p.requires_human);
}

TEST_CASE("requires_human from the model is never cleared", "[policy]") {
    auto p = proposal("restart", "piha", "mosquitto", 0.99, true);
    apply_policy(p, make_health_event());
    CHECK(p.requires_human);
    CHECK(p.policy_corrections.empty());
}

TEST_CASE("proposal always targets the event's node and service", "[policy]") {
    auto p = proposal("redeploy", "chelsty-infra", "postgres", 0.99, false);
    apply_policy(p, make_health_event("piha", "mosquitto"));
    CHECK(p.node == "piha");
    CHECK(p.service == "mosquitto");
    CHECK(mentions(p, "node 'chelsty-infra' replaced by the event's node 'piha'"));
    CHECK(mentions(p, "service 'postgres' replaced"));
}

TEST_CASE("a model cannot redirect to escape the human rule", "[policy]") {
    // The event is on chelsty; the model claims another node and no human.
    auto p = proposal("restart", "piha", "mosquitto", 0.99, false);
    apply_policy(p, make_health_event("chelsty-infra", "mosquitto"));
    CHECK(p.node == "chelsty-infra");
    CHECK(p.requires_human);
}

TEST_CASE("unknown actions become notify", "[policy]") {
    auto p = proposal("reboot", "piha", "mosquitto", 0.9, false);
    apply_policy(p, make_health_event());
    CHECK(p.action == "notify");
    CHECK(p.type == "notify");
    CHECK(mentions(p, "unknown action 'reboot'"));
}

TEST_CASE("out of range confidence is zeroed and needs a human", "[policy]") {
    for (double c : {1.5, -0.2, std::numeric_limits<double>::quiet_NaN()}) {
        auto p = proposal("restart", "piha", "mosquitto", c, false);
        apply_policy(p, make_health_event());
        CHECK(p.confidence == 0.0);
        CHECK(p.requires_human);
    }
}

TEST_CASE("redeploy maps to guarded", "[policy]") {
    auto p = proposal("redeploy", "piha", "mosquitto", 0.9, false);
    apply_policy(p, make_health_event());
    CHECK(p.type == "redeploy");
    CHECK(p.risk_level == "guarded");
}

TEST_CASE("house rules are data", "[policy]") {
    HouseRules rules;
    rules.human_only_node_patterns = {"nas?", "*-prod"};
    rules.notify_only_event_types = {"smart_warning"};
    rules.min_confidence_without_human = 0.5;

    auto a = proposal("restart", "nas1", "smb", 0.9, false);
    apply_policy(a, make_health_event("nas1", "smb"), rules);
    CHECK(a.requires_human);

    auto b = proposal("restart", "db-prod", "pg", 0.9, false);
    apply_policy(b, make_health_event("db-prod", "pg"), rules);
    CHECK(b.requires_human);

    auto c = proposal("restart", "chelsty-infra", "x", 0.6, false);
    apply_policy(c, make_health_event("chelsty-infra", "x"), rules);
    CHECK_FALSE(c.requires_human);  // not in these rules, and 0.6 >= 0.5

    auto d = proposal("restart", "piha", "disk", 0.9, false);
    apply_policy(d, make_health_event("piha", "disk", "smart_warning"), rules);
    CHECK(d.action == "notify");
}

TEST_CASE("glob matching", "[policy]") {
    using planner::detail::glob_match;
    CHECK(glob_match("chelsty*", "chelsty-infra"));
    CHECK(glob_match("*", ""));
    CHECK(glob_match("a?c", "abc"));
    CHECK_FALSE(glob_match("a?c", "ac"));
    CHECK(glob_match("*x*y*", "aaxbby"));
    CHECK_FALSE(glob_match("chelsty*", "xchelsty"));
    CHECK(glob_match(std::string(50, '*') + "b", std::string(10'000, 'a') + "b"));
}
