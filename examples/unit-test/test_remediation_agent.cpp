// Unit tests of the embedder's agent, with the planner's own fakes: a scripted FakeRouter instead
// of a model, recording sinks instead of the executor's queue and the log, a ManualClock instead
// of waiting out the cooldown. No network, no files, no sleeping.

#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>

#include <planner/testing.hpp>

#include "remediation_agent.hpp"

using homelab::Outcome;
using homelab::RemediationAgent;
using planner::testing::FakeRouter;
using planner::testing::make_route_result;
using planner::testing::RecordingActionSink;
using planner::testing::RecordingLogSink;
using planner::testing::Reply;
using namespace std::chrono_literals;

namespace {

std::string event_json(const std::string& node = "piha", const std::string& service = "mosquitto",
                       const std::string& type = "service_unhealthy") {
    return nlohmann::json{
        {"type", type}, {"node", node}, {"service", service}, {"severity", "error"}}
        .dump();
}

/// The agent under test and what it is wired to; the router is the test's own.
struct Wired {
    explicit Wired(planner::LLMRouter& router, homelab::AgentOptions options = {})
        : agent(router, actions, log, std::move(options), clock.steady_source(),
                clock.wall_source()) {}

    planner::ManualClock clock;
    RecordingActionSink actions;
    RecordingLogSink log;
    RemediationAgent agent;
};

}  // namespace

TEST_CASE("a benign event is skipped without asking the model", "[agent]") {
    auto router = FakeRouter::always(make_route_result("restart"));
    Wired w(router);
    CHECK(w.agent.handle(event_json("piha", "mosquitto", "service_healthy")) == Outcome::benign);
    CHECK(router.call_count() == 0);
    CHECK(w.actions.written().empty());
    CHECK(w.log.count("skip_benign") == 1);
}

TEST_CASE("an unhealthy service becomes one pending restart", "[agent]") {
    auto router = FakeRouter::always(make_route_result("restart"));
    Wired w(router);
    REQUIRE(w.agent.handle(event_json()) == Outcome::proposed);

    const auto written = w.actions.written_for("piha", "mosquitto");
    REQUIRE(written.size() == 1);
    CHECK(written[0].action == "restart");
    CHECK(written[0].type == "container_restart");
    CHECK(written[0].to_action_file().at("status") == "pending");
    CHECK(w.log.lines("proposal_written").at(0).fields.at("key") == "piha/mosquitto");

    // The model was asked about this event, with the proposal schema.
    const auto calls = router.requests();
    REQUIRE(calls.size() == 1);
    REQUIRE(calls[0].event.has_value());
    CHECK(calls[0].event->svc_key() == "piha/mosquitto");
    CHECK(calls[0].schema == planner::proposal_schema());
}

TEST_CASE("a second event within the cooldown is skipped, and planned again after it", "[agent]") {
    auto router = FakeRouter::always(make_route_result("restart"));
    Wired w(router);
    CHECK(w.agent.handle(event_json()) == Outcome::proposed);
    CHECK(w.agent.handle(event_json()) == Outcome::cooldown);
    CHECK(w.agent.handle(event_json("piha", "nginx")) == Outcome::proposed);  // another key
    CHECK(router.call_count() == 2);

    w.clock.advance(301s);
    CHECK(w.agent.handle(event_json()) == Outcome::proposed);
    CHECK(w.actions.written_for("piha", "mosquitto").size() == 2);
}

TEST_CASE("a chain failure writes nothing and leaves no cooldown", "[agent]") {
    FakeRouter router({Reply::fail("all models failed"), Reply::answer(make_route_result())});
    Wired w(router);
    CHECK(w.agent.handle(event_json()) == Outcome::chain_failed);
    CHECK(w.actions.written().empty());
    REQUIRE(w.log.count("chain_failed") == 1);
    CHECK(w.log.lines("chain_failed")[0].fields.at("error") == "all models failed");

    // No cooldown was recorded, so the very next event is planned (and this time succeeds).
    CHECK(w.agent.handle(event_json()) == Outcome::proposed);
    CHECK(router.call_count() == 2);
}

TEST_CASE("a failed write is logged and retried by the next event", "[agent]") {
    auto router = FakeRouter::always(make_route_result("restart"));
    Wired w(router);
    w.actions.fail_next(1);  // ENOSPC, as a full disk
    CHECK(w.agent.handle(event_json()) == Outcome::write_failed);
    CHECK(w.log.count("write_failed") == 1);
    CHECK(w.agent.handle(event_json()) == Outcome::proposed);
    CHECK(w.actions.written().size() == 1);
}

TEST_CASE("the house rules correct what the model says", "[agent][rules]") {
    // The model wants to restart unattended; chelsty* nodes always need a human.
    FakeRouter router([](const planner::RouteRequest& r) {
        return make_route_result("restart", r.event->service, r.event->node, "stopped", 0.95,
                                 /*requires_human=*/false);
    });
    Wired w(router);
    REQUIRE(w.agent.handle(event_json("chelsty-infra", "nginx")) == Outcome::proposed);
    const auto chelsty = w.actions.written_for("chelsty-infra", "nginx");
    REQUIRE(chelsty.size() == 1);
    CHECK(chelsty[0].requires_human);
    CHECK_FALSE(chelsty[0].policy_corrections.empty());

    // disk_pressure may only ever notify, whatever the model answers.
    REQUIRE(w.agent.handle(event_json("nas", "data", "disk_pressure")) == Outcome::proposed);
    CHECK(w.actions.written_for("nas", "data").at(0).action == "notify");

    // A house rule of this embedder's own: nas* needs a human as well.
    homelab::AgentOptions strict;
    strict.rules.human_only_node_patterns.push_back("nas*");
    Wired s(router, strict);
    REQUIRE(s.agent.handle(event_json("nas01", "smbd")) == Outcome::proposed);
    CHECK(s.actions.written_for("nas01", "smbd").at(0).requires_human);
}

TEST_CASE("an answer outside the schema becomes the safest proposal", "[agent][rules]") {
    FakeRouter router({Reply::invalid({{"action", "reboot_everything"}, {"confidence", 7}})});
    Wired w(router);
    REQUIRE(w.agent.handle(event_json()) == Outcome::proposed);
    const auto p = w.actions.written().at(0);
    CHECK(p.action == "notify");
    CHECK(p.requires_human);
}

TEST_CASE("what is not an event is logged once and not routed", "[agent]") {
    auto router = FakeRouter::always(make_route_result());
    Wired w(router);
    CHECK(w.agent.handle("{not json") == Outcome::not_an_event);
    CHECK(w.agent.handle(R"({"type":"service_unhealthy"})") == Outcome::not_an_event);
    CHECK(router.call_count() == 0);
    CHECK(w.log.count("not_an_event") == 2);
}
