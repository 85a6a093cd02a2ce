#include <catch2/catch.hpp>

#include <planner/plan.hpp>
#include <planner/testing.hpp>

using planner::make_proposal;
using planner::testing::make_health_event;
using planner::testing::make_route_result;

TEST_CASE("proposal carries the model's answer", "[plan]") {
    const auto ev = make_health_event();
    const auto p =
        make_proposal(ev, make_route_result("restart", "mosquitto", "piha", "Container is stopped",
                                            0.9, false, "claude-haiku-4-5-20251001"));
    CHECK(p.action == "restart");
    CHECK(p.type == "container_restart");
    CHECK(p.risk_level == "low");
    CHECK(p.reason == "Container is stopped");
    CHECK(p.confidence == 0.9);
    CHECK_FALSE(p.requires_human);
    CHECK(p.llm_model == "claude-haiku-4-5-20251001");
    CHECK(p.llm_attempts == 1);
    CHECK(p.source_event == "service_unhealthy");
}

TEST_CASE("requires human preserved in proposal", "[plan]") {
    const auto p = make_proposal(make_health_event(),
                                 make_route_result("restart", "mosquitto", "piha", "r", 0.6, true));
    CHECK(p.requires_human);
}

TEST_CASE("redeploy action risk guarded", "[plan]") {
    const auto p = make_proposal(make_health_event(), make_route_result("redeploy"));
    CHECK(p.risk_level == "guarded");
    CHECK(p.type == "redeploy");
}

TEST_CASE("malformed content from a custom router falls back to the safest proposal", "[plan]") {
    planner::RouteResult r;
    r.content = {{"action", 5}, {"confidence", "high"}, {"requires_human", "no"}};
    r.model_used = "custom";
    const auto p = make_proposal(make_health_event(), r);
    CHECK(p.action == "notify");
    CHECK(p.confidence == 0.0);
    CHECK(p.requires_human);
    CHECK(p.node == "piha");
    CHECK(p.service == "mosquitto");
    CHECK(p.reason == "(the model gave no reason)");

    r.content = nlohmann::json::array();
    CHECK(make_proposal(make_health_event(), r).action == "notify");
}

TEST_CASE("action ids are unique and file-name safe", "[plan]") {
    const auto now = std::chrono::system_clock::time_point{std::chrono::seconds{1'779'883'200}};
    const auto a = planner::make_action_id(make_health_event(), now, 1);
    const auto b = planner::make_action_id(make_health_event(), now, 2);
    CHECK(a == "plan-piha-mosquitto-1779883200-1");
    CHECK(a != b);
    const auto hostile =
        planner::make_action_id(make_health_event("../../etc", "/bin/sh\n"), now, 3);
    CHECK(hostile.find('/') == std::string::npos);
    CHECK(hostile.find("..") == std::string::npos);
    CHECK(hostile.find('\n') == std::string::npos);
}

TEST_CASE("an overlong reason is cut for the human reader", "[plan]") {
    const auto p = make_proposal(
        make_health_event(),
        make_route_result("notify", "mosquitto", "piha", std::string(100'000, 'r'), 0.9, false));
    CHECK(p.reason.size() == planner::kMaxReasonBytes + 3);
    CHECK_THAT(p.reason, Catch::EndsWith("..."));
}

TEST_CASE("an empty reason is replaced", "[plan]") {
    const auto p = make_proposal(make_health_event(),
                                 make_route_result("notify", "mosquitto", "piha", "", 0.9, false));
    CHECK(p.reason == "(the model gave no reason)");
}
