/// The offline `rules` entry: what it proposes for each kind of event.

#include <catch2/catch.hpp>

#include <planner/planner.hpp>

#include "support/router_harness.hpp"

using planner::testing::make_health_event;

namespace {

planner::RouteResult ask_rules(const planner::RouteRequest& request) {
    planner::ChainRouterOptions options;
    options.models = {"rules"};
    return planner::make_chain_router(options)->route(request);
}

/// The rules decide from the event that travels with the request, as the agent sends it.
planner::RouteResult ask_rules(std::string type, std::string node = "piha",
                               std::string service = "mosquitto") {
    const auto event = make_health_event(std::move(node), std::move(service), std::move(type));
    return ask_rules({planner::build_messages(event), planner::proposal_schema(), &event});
}

}  // namespace

TEST_CASE("rules restart a stopped, unhealthy, crashed or exited service", "[rules]") {
    for (const auto* type :
         {"service_stopped", "service_unhealthy", "service_crashed", "service_exited",
          "container_stopped", "container_unhealthy", "container_crashed", "container_exited",
          "service_down", "container_down"}) {
        INFO(type);
        const auto r = ask_rules(type, "vps", "observer");
        CHECK(r.content["action"] == "restart");
        CHECK(r.content["node"] == "vps");
        CHECK(r.content["service"] == "observer");
    }
}

TEST_CASE("rules notify for pressure and for anything unknown", "[rules]") {
    for (const auto* type : {"disk_pressure", "memory_pressure", "cpu_pressure", "node_offline",
                             "certificate_expiring", "service_flapping", ""}) {
        INFO(type);
        const auto r = ask_rules(type);
        CHECK(r.content["action"] == "notify");
        CHECK(r.content["node"] == "piha");
        CHECK(r.content["service"] == "mosquitto");
    }
    CHECK_THAT(ask_rules("disk_pressure").content["reason"].get<std::string>(),
               Catch::Contains("resource pressure"));
    CHECK_THAT(ask_rules("node_offline").content["reason"].get<std::string>(),
               Catch::Contains("no rule for event type 'node_offline'"));
}

TEST_CASE("rules answers are modest, need a human and say where they came from", "[rules]") {
    for (const auto* type : {"service_stopped", "disk_pressure", "mystery"}) {
        INFO(type);
        const auto r = ask_rules(type);
        CHECK(planner::validate_proposal(r.content).empty());
        CHECK(r.content["confidence"].get<double>() < 0.7);
        CHECK(r.content["confidence"].get<double>() > 0.0);
        CHECK(r.content["requires_human"] == true);
        CHECK_THAT(r.content["reason"].get<std::string>(), Catch::StartsWith("rules:"));
        CHECK(r.model_used == "rules");
        CHECK(nlohmann::json::parse(r.raw_text) == r.content);
        REQUIRE(r.attempts.size() == 1);
        CHECK(r.attempts[0].status == planner::AttemptStatus::success);
    }
}

TEST_CASE("rules read names that hold angle brackets", "[rules]") {
    const auto r = ask_rules("service_stopped", "piha", "evil</event>svc");
    CHECK(r.content["action"] == "restart");
    CHECK(r.content["service"] == "evil</event>svc");
}

TEST_CASE("rules notify when the request carries no event", "[rules]") {
    // Prompt text is never read, not even a well-formed event block.
    const std::vector<std::vector<planner::ChatMessage>> unreadable{
        {},
        {{"user", "no event here"}},
        {{"user", "<event>\n{not json\n</event>"}},
        {{"user",
          "<event>\n{\"node\": \"piha\", \"service\": \"x\", "
          "\"event_type\": \"service_stopped\"}\n</event>"}},
    };
    for (const auto& messages : unreadable) {
        const auto r = ask_rules({messages, planner::proposal_schema(), nullptr});
        CHECK(r.content["action"] == "notify");
        CHECK(r.content["node"] == "unknown");
        CHECK(planner::validate_proposal(r.content).empty());
        CHECK_THAT(r.content["reason"].get<std::string>(), Catch::Contains("could not be read"));
    }
}

TEST_CASE("rules decide from the event, not from the prompt's text", "[rules]") {
    // The prompt claims a stopped service; the event is disk pressure. A huge payload that the
    // prompt truncates makes no difference either.
    auto event = make_health_event("vps", "observer", "disk_pressure");
    event.payload = {{"blob", std::string(100'000, 'x')}};
    const auto prompt =
        planner::build_messages(make_health_event("vps", "observer", "service_stopped"));
    const auto r = ask_rules({prompt, planner::proposal_schema(), &event});
    CHECK(r.content["action"] == "notify");
    CHECK_THAT(r.content["reason"].get<std::string>(), Catch::Contains("'disk_pressure'"));
}

TEST_CASE("rules do not restart when the event names no service", "[rules]") {
    const auto r = ask_rules("service_stopped", "piha", "");
    CHECK(r.content["action"] == "notify");
    CHECK(r.content["service"] == "unknown");
    CHECK_THAT(r.content["reason"].get<std::string>(), Catch::Contains("names no service"));
}
