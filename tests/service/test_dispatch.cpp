// PlannerAgent._dispatch, ported from the seed suite, plus hostile messages.

#include <catch2/catch.hpp>

#include "replay.hpp"
#include "support/agent_fixture.hpp"

using namespace planner;
using namespace planner::testing;
using namespace std::chrono_literals;

TEST_CASE("valid json dispatched", "[dispatch]") {
    AgentFixture f(make_route_result());
    CHECK(f.agent.dispatch_text("health_events", event_json()) == IntakeResult::queued);
    f.agent.start();
    REQUIRE(f.agent.wait_idle(10s));
    CHECK(f.router.call_count() == 1);
    CHECK(f.actions.written().size() == 1);
}

TEST_CASE("invalid json skipped", "[dispatch]") {
    AgentFixture f(make_route_result());
    CHECK(f.agent.dispatch_text("health_events", "{not valid json") == IntakeResult::malformed);
    f.agent.start();
    REQUIRE(f.agent.wait_idle(10s));
    CHECK(f.router.call_count() == 0);
    CHECK(f.log.count("skip_malformed") == 1);
}

TEST_CASE("non string data skipped", "[dispatch]") {
    AgentFixture f(make_route_result());
    // Intake takes text; a message whose data arrived as JSON is a recorded one (--replay).
    const auto recorded = [](nlohmann::json data) {
        return nlohmann::json{{"channel", "health_events"}, {"data", std::move(data)}}.dump();
    };
    CHECK(replay_line(f.agent, recorded(42)) == IntakeResult::malformed);
    CHECK(replay_line(f.agent, recorded(nlohmann::json::parse(event_json()))) ==
          IntakeResult::malformed);
    CHECK(f.router.call_count() == 0);
    // Counted like any refused message: the exit summary and the metrics see both.
    CHECK(f.agent.counters().malformed == 2);
    CHECK(f.agent.counters().received.at("health_events") == 2);
    const auto lines = f.log.lines();
    REQUIRE(lines.size() == 2);
    CHECK(lines[0].fields.at("reason") == "data must be a string, got number");
}

TEST_CASE("missing node skipped", "[dispatch]") {
    AgentFixture f(make_route_result());
    const auto data =
        nlohmann::json{{"type", "service_unhealthy"}, {"service", "mosquitto"}}.dump();
    CHECK(f.agent.dispatch_text("health_events", data) == IntakeResult::malformed);
    CHECK(f.log.lines().at(0).fields.at("reason") == "missing field 'node'");
}

TEST_CASE("a JSON value that is not an object is skipped", "[dispatch]") {
    AgentFixture f(make_route_result());
    for (const char* data : {"[1,2]", "\"text\"", "null", "3.5", ""}) {
        CHECK(f.agent.dispatch_text("world_updates", data) == IntakeResult::malformed);
    }
    CHECK(f.agent.counters().malformed == 5);
    CHECK(f.agent.counters().received.at("world_updates") == 5);
}

TEST_CASE("deeply nested JSON is refused before parsing", "[dispatch]") {
    AgentFixture f(make_route_result());
    const std::string deep = std::string(100'000, '[') + std::string(100'000, ']');
    CHECK(f.agent.dispatch_text("health_events", deep) == IntakeResult::malformed);
    const std::string deep_payload = R"({"node":"piha","type":"x","payload":)" +
                                     std::string(70, '[') + std::string(70, ']') + "}";
    CHECK(f.agent.dispatch_text("health_events", deep_payload) == IntakeResult::malformed);
    CHECK(f.log.lines().at(0).fields.at("reason").get<std::string>().find("nests deeper") !=
          std::string::npos);
}

TEST_CASE("oversized messages are refused and their content is not logged", "[dispatch]") {
    PlannerAgentOptions options;
    options.max_message_bytes = 1000;
    AgentFixture f(make_route_result(), options);
    const std::string big =
        R"({"node":"piha","type":"x","payload":{"secret":")" + std::string(2000, 'A') + "\"}}";
    CHECK(f.agent.dispatch_text("health_events", big) == IntakeResult::malformed);
    const auto line = f.log.lines().at(0);
    CHECK(line.fields.at("bytes") == big.size());
    CHECK(line.fields.dump().find("AAAA") == std::string::npos);
}

TEST_CASE("both wire shapes are accepted", "[dispatch]") {
    AgentFixture f(make_route_result());
    CHECK(f.agent.dispatch_text("health_events", event_json("piha", "mosquitto")) ==
          IntakeResult::queued);
    const auto shape_b =
        nlohmann::json{{"event_type", "service_down"}, {"node", "vps"}, {"service", "observer"}};
    CHECK(f.agent.dispatch_text("world_updates", shape_b.dump()) == IntakeResult::queued);
}

TEST_CASE("benign messages are skipped at intake", "[dispatch]") {
    AgentFixture f(make_route_result());
    CHECK(f.agent.dispatch_text("health_events", event_json("piha", "mqtt", "service_healthy")) ==
          IntakeResult::benign);
    CHECK(
        f.agent.dispatch_text("health_events", event_json("piha", "mqtt", "remediation_started")) ==
        IntakeResult::benign);
    CHECK(f.agent.counters().benign == 2);
}

TEST_CASE("received is counted per channel and bounded", "[dispatch]") {
    AgentFixture f(make_route_result());
    for (int i = 0; i < 100; ++i) f.agent.dispatch_text("chan-" + std::to_string(i), "x");
    const auto c = f.agent.counters();
    CHECK(c.received.size() == 65);
    CHECK(c.received.at("(other)") == 36);
    CHECK(c.received_total() == 100);
}
