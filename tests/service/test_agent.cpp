// PlannerAgent._handle_event, ported from the seed suite with injected fakes, plus what the
// original left implicit (write and emit failures, house rules, ids).

#include <set>

#include <catch2/catch.hpp>

#include <planner/agent_testing.hpp>
#include "support/agent_fixture.hpp"
#include "support/malformed_events.hpp"

using namespace planner;
using namespace planner::testing;
using namespace std::chrono_literals;

TEST_CASE("benign event no proposal", "[agent]") {
    AgentFixture f(make_route_result());
    const auto ev = make_health_event("piha", "mosquitto", "service_healthy");
    CHECK(handle_event(f.agent, ev) == HandleResult::benign);
    CHECK(f.actions.written().empty());
    CHECK(f.router.call_count() == 0);
    CHECK(f.agent.counters().benign == 1);
}

TEST_CASE("cooldown blocks duplicate", "[agent]") {
    AgentFixture f(make_route_result());
    const auto ev = make_health_event();
    f.agent.cooldown().record(ev.svc_key());  // simulate a recent proposal
    CHECK(handle_event(f.agent, ev) == HandleResult::cooldown);
    CHECK(f.actions.written().empty());
    CHECK(f.router.call_count() == 0);
}

TEST_CASE("ignore action no file written", "[agent]") {
    AgentFixture f(make_route_result("ignore", "mosquitto", "piha", "Transient glitch"));
    CHECK(handle_event(f.agent, make_health_event()) == HandleResult::ignored);
    CHECK(f.actions.written().empty());
    CHECK(f.events.emitted().empty());
    CHECK(f.agent.counters().proposals.at("ignore") == 1);
}

TEST_CASE("ignore records cooldown", "[agent]") {
    AgentFixture f(make_route_result("ignore", "mosquitto", "piha", "Transient glitch"));
    const auto ev = make_health_event();
    handle_event(f.agent, ev);
    CHECK_FALSE(f.agent.cooldown().is_ready(ev.svc_key()));
}

TEST_CASE("restart action writes pending file", "[agent]") {
    AgentFixture f(make_route_result("restart"));
    CHECK(handle_event(f.agent, make_health_event()) == HandleResult::proposed);
    const auto written = f.actions.written();
    REQUIRE(written.size() == 1);
    CHECK(written[0].action == "restart");
    CHECK(written[0].type == "container_restart");
}

TEST_CASE("redeploy action risk guarded", "[agent]") {
    AgentFixture f(make_route_result("redeploy"));
    handle_event(f.agent, make_health_event());
    const auto written = f.actions.written();
    REQUIRE(written.size() == 1);
    CHECK(written[0].risk_level == "guarded");
    CHECK(written[0].type == "redeploy");
}

TEST_CASE("remediation started event emitted", "[agent]") {
    AgentFixture f(make_route_result("restart"));
    const auto ev = make_health_event();
    handle_event(f.agent, ev);
    const auto emitted = f.events.emitted();
    REQUIRE(emitted.size() == 1);
    CHECK(emitted[0].type == "remediation_started");
    CHECK(emitted[0].service == ev.service);
    CHECK(emitted[0].correlation_id == f.actions.written().at(0).action_id);
    CHECK(emitted[0].payload.at("action") == "restart");
}

TEST_CASE("llm failure no file no cooldown", "[agent]") {
    AgentFixture f(failing_router());
    const auto ev = make_health_event();
    CHECK(handle_event(f.agent, ev) == HandleResult::chain_failed);
    CHECK(f.actions.written().empty());
    CHECK(f.events.emitted().empty());
    // Cooldown NOT recorded: the next event retries.
    CHECK(f.agent.cooldown().is_ready(ev.svc_key()));
    CHECK(f.agent.counters().chain_failures == 1);
    REQUIRE(f.log.count("chain_failed") == 1);
    CHECK(f.log.lines().back().fields.at("attempts").size() == 1);
}

TEST_CASE("a fallback proposal logs why the earlier models failed", "[agent]") {
    auto fallback =
        make_route_result("restart", "mosquitto", "piha", "rules: restart", 0.5, true, "rules");
    fallback.attempts = {
        AttemptRecord{"ollama/qwen2.5:7b", AttemptStatus::error, "HTTP 500: CUDA OOM", 40.0},
        AttemptRecord{"ollama/qwen2.5:7b", AttemptStatus::timeout, "no answer", 900.0},
        AttemptRecord{"rules", AttemptStatus::success, "", 0.1}};
    AgentFixture f(fallback);
    CHECK(handle_event(f.agent, make_health_event()) == HandleResult::proposed);
    REQUIRE(f.log.count("proposal_written") == 1);
    const auto fields = f.log.lines().back().fields;
    CHECK(fields.at("model") == "rules");
    CHECK(fields.at("attempts") == 3);
    const auto& failed = fields.at("failed_attempts");
    REQUIRE(failed.size() == 2);
    CHECK(failed[0] == nlohmann::json(fallback.attempts[0]));
    CHECK(failed[1].at("status") == "timeout");

    // A first-try answer adds nothing to the line.
    AgentFixture direct(make_route_result("restart"));
    handle_event(direct.agent, make_health_event());
    REQUIRE(direct.log.count("proposal_written") == 1);
    CHECK_FALSE(direct.log.lines().back().fields.contains("failed_attempts"));
}

TEST_CASE("requires human preserved in proposal", "[agent]") {
    AgentFixture f(make_route_result("restart", "mosquitto", "piha", "r", 0.6, true));
    handle_event(f.agent, make_health_event());
    REQUIRE(f.actions.written().size() == 1);
    CHECK(f.actions.written()[0].requires_human);
}

TEST_CASE("cooldown recorded after success", "[agent]") {
    AgentFixture f(make_route_result("restart"));
    const auto ev = make_health_event();
    handle_event(f.agent, ev);
    CHECK_FALSE(f.agent.cooldown().is_ready(ev.svc_key()));
}

TEST_CASE("llm model recorded in proposal", "[agent]") {
    AgentFixture f(make_route_result("restart", "mosquitto", "piha", "Container is stopped", 0.9,
                                     false, "claude-haiku-4-5-20251001"));
    handle_event(f.agent, make_health_event());
    REQUIRE(f.actions.written().size() == 1);
    CHECK(f.actions.written()[0].llm_model == "claude-haiku-4-5-20251001");
}

TEST_CASE("write failure is logged with no cooldown and no event", "[agent]") {
    AgentFixture f(make_route_result("restart"));
    f.actions.fail_next(1);
    const auto ev = make_health_event();
    CHECK(handle_event(f.agent, ev) == HandleResult::write_failed);
    CHECK(f.events.emitted().empty());
    CHECK(f.agent.cooldown().is_ready(ev.svc_key()));
    CHECK(f.agent.counters().write_failures == 1);
    CHECK(f.log.count("write_failed") == 1);

    // fail_next(1) failed one write: the next event retries and succeeds
    CHECK(handle_event(f.agent, ev) == HandleResult::proposed);
    CHECK(f.actions.written().size() == 1);
}

TEST_CASE("emit failure keeps the action and records the cooldown", "[agent]") {
    AgentFixture f(make_route_result("restart"));
    f.events.fail_next(1);
    const auto ev = make_health_event();
    CHECK(handle_event(f.agent, ev) == HandleResult::proposed);
    CHECK(f.actions.written().size() == 1);
    CHECK_FALSE(f.agent.cooldown().is_ready(ev.svc_key()));
    CHECK(f.agent.counters().emit_failures == 1);
}

TEST_CASE("cooldown expires after the configured period", "[agent]") {
    PlannerAgentOptions options;
    options.cooldown = 60s;
    AgentFixture f(make_route_result("restart"), options);
    const auto ev = make_health_event();
    CHECK(handle_event(f.agent, ev) == HandleResult::proposed);
    f.clock.advance(59s);
    CHECK(handle_event(f.agent, ev) == HandleResult::cooldown);
    f.clock.advance(1s);
    CHECK(handle_event(f.agent, ev) == HandleResult::proposed);
    CHECK(f.router.call_count() == 2);
}

TEST_CASE("house rules are applied to the model's answer", "[agent]") {
    AgentFixture f([](const std::vector<ChatMessage>&) {
        return make_route_result("restart", "x", "y", "looks bad", 0.95, false);
    });
    handle_event(f.agent, make_health_event("chelsty-infra", "nginx"));
    handle_event(f.agent, make_health_event("piha", "data", "disk_pressure"));
    const auto written = f.actions.written();
    REQUIRE(written.size() == 2);
    CHECK(written[0].node == "chelsty-infra");
    CHECK(written[0].service == "nginx");
    CHECK(written[0].requires_human);
    CHECK(written[1].action == "notify");
    CHECK(written[1].type == "notify");
}

TEST_CASE("proposal time and action id come from the injected wall clock", "[agent]") {
    AgentFixture f(make_route_result("restart"));
    handle_event(f.agent, make_health_event());
    handle_event(f.agent, make_health_event("piha", "zigbee2mqtt"));
    const auto written = f.actions.written();
    REQUIRE(written.size() == 2);
    CHECK(written[0].created_at == f.clock.wall_now());
    CHECK(written[0].action_id == "plan-piha-mosquitto-1780000000-1");
    CHECK(written[1].action_id == "plan-piha-zigbee2mqtt-1780000000-2");
}

TEST_CASE("action ids are unique for proposals in the same second", "[agent]") {
    PlannerAgentOptions options;
    options.cooldown = 0s;
    AgentFixture f(make_route_result("restart"), options);
    for (int i = 0; i < 20; ++i) handle_event(f.agent, make_health_event());
    std::set<std::string> ids;
    for (const auto& p : f.actions.written()) ids.insert(p.action_id);
    CHECK(ids.size() == 20);
}

TEST_CASE("a router throwing something that is not a std::exception is a chain failure",
          "[agent]") {
    AgentFixture f([](const std::vector<ChatMessage>&) -> RouteResult { throw 42; });
    CHECK(handle_event(f.agent, make_health_event()) == HandleResult::chain_failed);
    CHECK(f.agent.counters().chain_failures == 1);
}

TEST_CASE("the router is asked with the event in the prompt", "[agent]") {
    AgentFixture f(make_route_result("restart"));
    handle_event(f.agent, make_health_event("vps", "observer"));
    const auto calls = f.router.calls();
    REQUIRE(calls.size() == 1);
    REQUIRE(calls[0].size() == 2);
    CHECK(calls[0][1].content.find("\"observer\"") != std::string::npos);
}

TEST_CASE("counters serialise for the exit summary", "[agent]") {
    AgentFixture f(make_route_result("restart"));
    handle_event(f.agent, make_health_event());
    f.agent.dispatch_text("health_events", "{nope");
    const auto j = f.agent.counters().to_json();
    CHECK(j.at("received").at("health_events") == 1);
    CHECK(j.at("skipped").at("malformed") == 1);
    CHECK(j.at("routed") == 1);
    CHECK(j.at("proposals").at("restart") == 1);
    CHECK(j.at("chain_failures") == 0);
    CHECK(j.at("write_failures") == 0);
}

TEST_CASE("the system prompt is built once and is the one build_system_prompt gives", "[agent]") {
    PlannerAgentOptions options;
    options.prompt.topology.nodes = {{"nas", "a file server"}};
    options.rules.notify_only_event_types = {"smart_warning"};
    AgentFixture f(make_route_result("restart"), options);
    CHECK(f.agent.system_prompt() == build_system_prompt(options.rules, options.prompt));
    handle_event(f.agent, make_health_event("vps", "observer"));
    handle_event(f.agent, make_health_event("vps", "proxy"));
    const auto calls = f.router.calls();
    REQUIRE(calls.size() == 2);
    CHECK(calls[0] ==
          build_messages(make_health_event("vps", "observer"), options.rules, options.prompt));
    CHECK(calls[1] ==
          build_messages(make_health_event("vps", "proxy"), options.rules, options.prompt));
}

TEST_CASE("the rules the agent enforces are the rules its prompt tells", "[agent]") {
    PlannerAgentOptions options;
    options.prompt.topology.nodes = {{"nas01", "a file server"}};
    options.rules.human_only_node_patterns = {"nas*"};
    options.rules.notify_only_event_types = {"smart_warning"};
    AgentFixture f(make_route_result("restart", "samba", "nas01", "stopped", 0.95, false), options);
    CHECK_THAT(f.agent.system_prompt(), Catch::Contains("'nas*'"));
    CHECK_THAT(f.agent.system_prompt(), Catch::Contains("smart_warning is always notify"));
    CHECK_THAT(f.agent.system_prompt(), !Catch::Contains("chelsty"));
    REQUIRE(handle_event(f.agent, make_health_event("nas01", "samba", "smart_warning")) ==
            HandleResult::proposed);
    const auto written = f.actions.written();
    REQUIRE(written.size() == 1);
    CHECK(written[0].action == "notify");
    CHECK(written[0].requires_human);
    // The default chelsty rule is gone with the replaced list: the agent enforces its own data.
    REQUIRE(handle_event(f.agent, make_health_event("chelsty-infra", "nginx")) ==
            HandleResult::proposed);
    CHECK_FALSE(f.actions.written().at(1).requires_human);
}

namespace {

/// Says debug is off and counts the lines it is handed anyway.
class InfoOnlyLogSink final : public LogSink {
  public:
    void log(LogLevel level, std::string_view, const nlohmann::json&) override {
        if (level == LogLevel::debug) ++debug_lines;
    }
    bool enabled(LogLevel level) const noexcept override { return level >= LogLevel::info; }
    std::atomic<int> debug_lines{0};
};

}  // namespace

TEST_CASE("skipped events build no debug line when the sink drops debug", "[agent]") {
    ManualClock clock;
    FakeRouter router([](const std::vector<ChatMessage>&) { return make_route_result("restart"); });
    RecordingActionSink actions;
    RecordingEventSink events;
    InfoOnlyLogSink log;
    PlannerAgent agent({}, {.router = router,
                            .actions = actions,
                            .events = events,
                            .log = log,
                            .steady = clock.steady_source(),
                            .wall = clock.wall_source()});
    agent.cooldown().record("piha/mosquitto");
    CHECK(agent.dispatch_text("health_events", event_json("piha", "mosquitto", "heartbeat")) ==
          IntakeResult::benign);
    CHECK(agent.dispatch_text("health_events", event_json()) == IntakeResult::cooldown);
    CHECK(handle_event(agent, make_health_event()) == HandleResult::cooldown);
    CHECK(log.debug_lines == 0);
    CHECK(agent.counters().benign == 1);
    CHECK(agent.counters().cooldown == 2);
}

TEST_CASE("skipped events are still logged at debug for a sink that keeps debug", "[agent]") {
    AgentFixture f(make_route_result("restart"));
    f.agent.cooldown().record("piha/mosquitto");
    CHECK(f.agent.dispatch_text("health_events", event_json("piha", "x", "heartbeat")) ==
          IntakeResult::benign);
    CHECK(f.agent.dispatch_text("health_events", event_json()) == IntakeResult::cooldown);
    CHECK(f.log.count("skip_benign") == 1);
    CHECK(f.log.count("skip_cooldown") == 1);
    CHECK(f.log.lines().at(0).fields.at("key") == "piha/x");
}

// Intake decides benign and cooldown messages from a first pass without a DOM; a message that
// pass accepts must be one the full parse accepts, or a broken message would count as benign.
TEST_CASE("a suppressed event that is malformed is still counted as malformed", "[agent]") {
    AgentFixture f(make_route_result("restart"));
    f.agent.cooldown().record("piha/mosquitto");
    for (const std::string& data : planner::testing::suppressed_but_malformed_messages()) {
        INFO(data);
        CHECK(f.agent.dispatch_text("health_events", data) == IntakeResult::malformed);
    }
    CHECK(f.log.count("skip_malformed") == 17);
    CHECK(f.agent.counters().benign == 0);
    CHECK(f.agent.counters().cooldown == 0);
}

TEST_CASE("intake's first pass reads names as the full parse does", "[agent]") {
    AgentFixture f(make_route_result("restart"));
    f.agent.cooldown().record("piha/piha");
    f.agent.cooldown().record("vps/observer");
    struct Case {
        std::string data;
        IntakeResult expected;
    };
    for (
        const auto& [data, expected] : std::vector<Case>{
            // a non-empty `type` wins, whatever `event_type` holds
            {R"({"node":"piha","type":"heartbeat","event_type":5})", IntakeResult::benign},
            {R"({"node":"piha","type":"","event_type":"heartbeat"})", IntakeResult::benign},
            {R"({"node":"piha","type":null,"event_type":"remediation_x"})", IntakeResult::benign},
            // names inside the payload are not the event's
            {R"({"node":"vps","service":"observer","type":"x","payload":{"node":"a","type":"heartbeat"}})",
             IntakeResult::cooldown},
            {R"({"node":"n1","service":"s","type":"x","payload":{"type":"heartbeat"}})",
             IntakeResult::queued},
            // a missing service is the node
            {R"({"node":"piha","type":"service_unhealthy","timestamp":"not a time"})",
             IntakeResult::cooldown},
            {R"({"node":"piha","service":null,"type":"x","timestamp":1.7e12,"payload":null})",
             IntakeResult::cooldown},
        }) {
        INFO(data);
        CHECK(f.agent.dispatch_text("health_events", data) == expected);
    }
    CHECK(f.agent.counters().malformed == 0);
}
