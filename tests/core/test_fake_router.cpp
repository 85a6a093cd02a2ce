/// The pattern an embedder follows: a scripted LLMRouter, plugged into the planning steps.

#include <catch2/catch.hpp>

#include <planner/planner.hpp>
#include <planner/testing.hpp>

using planner::testing::FakeRouter;
using planner::testing::make_health_event;
using planner::testing::make_route_result;

TEST_CASE("a fake router plugs into the planning steps", "[fake_router]") {
    FakeRouter router([](const auto&) {
        return make_route_result("restart", "other-svc", "vps", "stopped", 0.95, false);
    });
    planner::LLMRouter& as_interface = router;
    const auto event = make_health_event("chelsty-infra", "mosquitto");
    const auto result =
        as_interface.route(planner::build_messages(event), planner::proposal_schema());
    REQUIRE(planner::validate_proposal(result.content).empty());
    const auto p = planner::make_proposal(event, result);
    CHECK(router.call_count() == 1);
    CHECK(router.calls()[0][1].content.find("chelsty-infra") != std::string::npos);
    CHECK(p.node == "chelsty-infra");
    CHECK(p.service == "mosquitto");
    CHECK(p.requires_human);
}

TEST_CASE("a failing fake router raises RouteError with its attempts", "[fake_router]") {
    FakeRouter router([](const auto&) -> planner::RouteResult {
        throw planner::RouteError(
            "all models failed",
            {{"ollama/qwen2.5:7b", planner::AttemptStatus::timeout, "60 s", 60000.0}});
    });
    try {
        router.route({}, planner::proposal_schema());
        FAIL("route should have thrown");
    } catch (const planner::RouteError& e) {
        CHECK(std::string(e.what()) == "all models failed");
        REQUIRE(e.attempts().size() == 1);
        CHECK(e.attempts()[0].status == planner::AttemptStatus::timeout);
    }
}

TEST_CASE("attempt status names", "[fake_router]") {
    using planner::AttemptStatus;
    CHECK(planner::to_string(AttemptStatus::success) == "success");
    CHECK(planner::to_string(AttemptStatus::error) == "error");
    CHECK(planner::to_string(AttemptStatus::timeout) == "timeout");
    CHECK(planner::to_string(AttemptStatus::invalid) == "invalid");
    CHECK(planner::to_string(AttemptStatus::skipped) == "skipped");
    const nlohmann::json j = planner::AttemptRecord{"m", AttemptStatus::invalid, "why", 3.5};
    CHECK(j == nlohmann::json{
                   {"model", "m"}, {"status", "invalid"}, {"error", "why"}, {"latency_ms", 3.5}});
}
