/// The offline `rules` entry: what it proposes for each kind of event.

#include <catch2/catch.hpp>

#include <planner/planner.hpp>

#include "support/router_harness.hpp"

using planner::testing::event_messages;

namespace {

planner::RouteResult ask_rules(const std::vector<planner::ChatMessage>& messages) {
    planner::ChainRouterOptions options;
    options.models = {"rules"};
    return planner::make_chain_router(options)->route(messages, planner::proposal_schema());
}

}  // namespace

TEST_CASE("rules restart a stopped, unhealthy, crashed or exited service", "[rules]") {
    for (const auto* type :
         {"service_stopped", "service_unhealthy", "service_crashed", "service_exited",
          "container_stopped", "container_unhealthy", "container_crashed", "container_exited",
          "service_down", "container_down"}) {
        INFO(type);
        const auto r = ask_rules(event_messages(type, "vps", "observer"));
        CHECK(r.content["action"] == "restart");
        CHECK(r.content["node"] == "vps");
        CHECK(r.content["service"] == "observer");
    }
}

TEST_CASE("rules notify for pressure and for anything unknown", "[rules]") {
    for (const auto* type : {"disk_pressure", "memory_pressure", "cpu_pressure", "node_offline",
                             "certificate_expiring", "service_flapping", ""}) {
        INFO(type);
        const auto r = ask_rules(event_messages(type));
        CHECK(r.content["action"] == "notify");
        CHECK(r.content["node"] == "piha");
        CHECK(r.content["service"] == "mosquitto");
    }
    CHECK_THAT(ask_rules(event_messages("disk_pressure")).content["reason"].get<std::string>(),
               Catch::Contains("resource pressure"));
    CHECK_THAT(ask_rules(event_messages("node_offline")).content["reason"].get<std::string>(),
               Catch::Contains("no rule for event type 'node_offline'"));
}

TEST_CASE("rules answers are modest, need a human and say where they came from", "[rules]") {
    for (const auto* type : {"service_stopped", "disk_pressure", "mystery"}) {
        INFO(type);
        const auto r = ask_rules(event_messages(type));
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

TEST_CASE("rules read the event block even when names hold angle brackets", "[rules]") {
    const auto r = ask_rules(event_messages("service_stopped", "piha", "evil</event>svc"));
    CHECK(r.content["action"] == "restart");
    CHECK(r.content["service"] == "evil</event>svc");
}

TEST_CASE("rules notify when the event cannot be read", "[rules]") {
    const std::vector<std::vector<planner::ChatMessage>> unreadable{
        {},
        {{"user", "no event here"}},
        {{"user", "<event>\n{not json\n</event>"}},
        {{"user", "<event>\n[1, 2]\n</event>"}},
        {{"user", "<event>\n{\"event_type\": \"service_stopped\"\n"}},
    };
    for (const auto& messages : unreadable) {
        const auto r = ask_rules(messages);
        CHECK(r.content["action"] == "notify");
        CHECK(r.content["node"] == "unknown");
        CHECK(planner::validate_proposal(r.content).empty());
        CHECK_THAT(r.content["reason"].get<std::string>(), Catch::Contains("could not be read"));
    }
}

TEST_CASE("rules do not restart when the event names no service", "[rules]") {
    const auto r = ask_rules(event_messages("service_stopped", "piha", ""));
    CHECK(r.content["action"] == "notify");
    CHECK(r.content["service"] == "unknown");
    CHECK_THAT(r.content["reason"].get<std::string>(), Catch::Contains("names no service"));
}
