// planner/testing.hpp on its own: the fake router's scripts and records, the recording sinks'
// lookups and failure injection, the builders. How the fakes fail next to the real components
// they stand for is tests/service/test_fakes_fidelity.cpp.

#include <atomic>
#include <cerrno>
#include <system_error>
#include <thread>

#include <catch2/catch.hpp>

#include <planner/core.hpp>
#include <planner/testing.hpp>
#include <planner/validation.hpp>

using namespace planner;
using namespace planner::testing;
using namespace std::chrono_literals;

TEST_CASE("the builders give the seed's defaults, and a schema-valid answer", "[testing]") {
    const auto e = make_health_event();
    CHECK(e.svc_key() == "piha/mosquitto");
    CHECK(e.event_type == "service_unhealthy");
    CHECK(e.severity == "error");
    const auto r = make_route_result();
    CHECK(validate_proposal(r.content).empty());
    CHECK(r.content.at("action") == "restart");
    CHECK(r.model_used == "ollama/qwen2.5:7b");
    REQUIRE(r.attempts.size() == 1);
    CHECK(r.attempts[0].status == AttemptStatus::success);
}

TEST_CASE("a_proposal() gives the seed's defaults, and keeps type and risk with the action",
          "[testing]") {
    const ActionProposal p = a_proposal();
    CHECK(p.node == "piha");
    CHECK(p.service == "mosquitto");
    CHECK(p.action == "restart");
    CHECK(p.type == "container_restart");
    CHECK(p.risk_level == "low");
    CHECK(p.requires_human);
    CHECK_FALSE(p.expires_at.has_value());
    const ActionProposal r = a_proposal().action("redeploy").requires_human(false).expires_in(1h);
    CHECK(r.type == "redeploy");
    CHECK(r.risk_level == "guarded");
    CHECK_FALSE(r.requires_human);
    REQUIRE(r.expires_at.has_value());
    CHECK(*r.expires_at - r.created_at == 1h);
    // What it builds is what the plan step stores: a file the docs describe, key for key.
    const auto file = a_proposal().correction("confidence below 0.7").build().to_action_file();
    CHECK(file.at("status") == "pending");
    CHECK(file.at("payload").at("action") == "restart");
    CHECK(file.at("description") == "exited with code 137 [policy: confidence below 0.7]");
}

TEST_CASE("FakeRouter::always answers every call and records messages, schema and event",
          "[testing]") {
    auto router = FakeRouter::always(make_route_result("redeploy"));
    const auto event = make_health_event("vps", "observer");
    const auto messages = build_messages(event);
    const nlohmann::json other_schema = {{"type", "object"}};
    CHECK(router.route({messages, proposal_schema(), &event}).content.at("action") == "redeploy");
    CHECK(router.route(messages, other_schema).content.at("action") == "redeploy");

    const auto calls = router.requests();
    REQUIRE(calls.size() == 2);
    CHECK(calls[0].messages == messages);
    CHECK(calls[0].schema == proposal_schema());
    REQUIRE(calls[0].event.has_value());
    CHECK(calls[0].event->svc_key() == "vps/observer");
    CHECK(calls[1].schema == other_schema);
    CHECK_FALSE(calls[1].event.has_value());
    CHECK(router.calls() == std::vector<std::vector<ChatMessage>>{messages, messages});
    CHECK_THROWS_AS(router.push(Reply::answer(make_route_result())), std::logic_error);
}

TEST_CASE("FakeRouter answers from a callable of the request or of the prompt", "[testing]") {
    FakeRouter from_event([](const RouteRequest& r) {
        return make_route_result("restart", r.event->service, r.event->node);
    });
    const auto event = make_health_event("nas", "smbd");
    CHECK(from_event.route({build_messages(event), proposal_schema(), &event})
              .content.at("service") == "smbd");

    FakeRouter from_prompt([](const std::vector<ChatMessage>& m) {
        return make_route_result(m.size() == 2 ? "notify" : "ignore");
    });
    CHECK(from_prompt.route(build_messages(event)).content.at("action") == "notify");
}

TEST_CASE("a scripted FakeRouter answers in order, then refuses", "[testing]") {
    ManualClock clock;
    FakeRouter router(
        {Reply::answer(make_route_result("restart")), Reply::invalid(),
         Reply::fail("every model is down"), Reply::answer(make_route_result("notify")).after(90s)},
        &clock);
    const auto messages = build_messages(make_health_event());

    CHECK(router.route(messages).content.at("action") == "restart");

    const auto invalid = router.route(messages);
    CHECK_FALSE(validate_proposal(invalid.content).empty());  // really schema-invalid

    try {
        router.route(messages);
        FAIL("the third reply throws");
    } catch (const RouteError& e) {
        CHECK(std::string(e.what()) == "every model is down");
        REQUIRE(e.attempts().size() == 1);
        CHECK(e.attempts()[0].status == AttemptStatus::error);
    }

    const auto before = clock.steady_now();
    const auto slow = router.route(messages);
    CHECK(clock.steady_now() - before == 90s);
    CHECK(slow.content.at("action") == "notify");
    CHECK(slow.latency_ms == Approx(120.0 + 90'000.0));

    CHECK_THROWS_AS(router.route(messages), std::logic_error);  // the script ran out
    CHECK(router.call_count() == 5);

    router.push(Reply::answer(make_route_result("ignore")));
    CHECK(router.route(messages).content.at("action") == "ignore");
}

TEST_CASE("a delayed reply without a clock is a test bug, said at once", "[testing]") {
    FakeRouter router({Reply::answer(make_route_result()).after(1s)});
    CHECK_THROWS_AS(router.route(build_messages(make_health_event())), std::logic_error);
}

TEST_CASE("an invalid answer becomes the safest proposal", "[testing]") {
    FakeRouter router({Reply::invalid()});
    const auto event = make_health_event();
    const auto p = make_proposal(event, router.route(build_messages(event)));
    CHECK(p.requires_human);
    CHECK(p.action == "notify");
}

TEST_CASE("FakeRouter is safe to call from many threads", "[testing]") {
    auto router = FakeRouter::always(make_route_result());
    const auto messages = build_messages(make_health_event());
    std::vector<std::thread> threads;
    std::atomic<int> answered{0};
    for (int t = 0; t < 8; ++t) {
        threads.emplace_back([&] {
            for (int i = 0; i < 100; ++i) {
                if (router.route(messages).content.at("action") == "restart") ++answered;
            }
        });
    }
    for (auto& t : threads) t.join();
    CHECK(answered == 800);
    CHECK(router.call_count() == 800);
}

TEST_CASE("the recording action sink finds by node/service and fails the next N writes",
          "[testing]") {
    RecordingActionSink sink;
    ActionProposal a;
    a.node = "piha";
    a.service = "mosquitto";
    a.action_id = "plan-1";
    ActionProposal b = a;
    b.service = "nginx";
    CHECK(sink.write(a) == "memory:plan-1");
    sink.write(b);
    CHECK(sink.written_for("piha", "mosquitto").size() == 1);
    CHECK(sink.written_for("piha", "nginx").size() == 1);
    CHECK(sink.written_for("vps", "nginx").empty());

    sink.fail_next(2);
    for (int i = 0; i < 2; ++i) {
        try {
            sink.write(a);
            FAIL("write " << i << " should fail");
        } catch (const std::system_error& e) {
            CHECK(e.code() == std::errc::no_space_on_device);
            CHECK(e.code().value() == ENOSPC);
        }
    }
    CHECK(sink.written().size() == 2);  // the failed writes recorded nothing
    sink.write(a);
    CHECK(sink.written().size() == 3);

    sink.fail_next(1, std::make_exception_ptr(std::runtime_error("permission denied")));
    CHECK_THROWS_WITH(sink.write(a), "permission denied");
    sink.fail_next(5);
    sink.fail_next(0);  // clears
    CHECK_NOTHROW(sink.write(a));
}

TEST_CASE("the recording event sink finds by node/service and fails the next N emits",
          "[testing]") {
    RecordingEventSink sink;
    PlannerEvent e;
    e.type = "remediation_started";
    e.service = "mosquitto";
    e.payload = {{"target_node", "piha"}};
    CHECK(sink.emit(e) == "memory:remediation_started");
    CHECK(sink.emitted_for("piha", "mosquitto").size() == 1);
    CHECK(sink.emitted_for("vps", "mosquitto").empty());
    sink.fail_next();
    CHECK_THROWS_AS(sink.emit(e), std::system_error);
    CHECK_NOTHROW(sink.emit(e));
    CHECK(sink.emitted().size() == 2);
}

TEST_CASE("the recording log sink finds lines by event name and can lose them", "[testing]") {
    RecordingLogSink log;
    LogSink& as_interface = log;
    CHECK(as_interface.enabled(LogLevel::debug));
    as_interface.log(LogLevel::info, "proposal_written", {{"key", "piha/mosquitto"}});
    as_interface.log(LogLevel::warn, "chain_failed", {{"key", "vps/observer"}});
    as_interface.log(LogLevel::info, "proposal_written", {{"key", "nas/smbd"}});
    CHECK(log.count("proposal_written") == 2);
    REQUIRE(log.lines("chain_failed").size() == 1);
    CHECK(log.lines("chain_failed")[0].level == LogLevel::warn);
    CHECK(log.lines("chain_failed")[0].fields.at("key") == "vps/observer");
    CHECK(log.lines().size() == 3);

    log.drop_next(2);
    CHECK_NOTHROW(as_interface.log(LogLevel::error, "write_failed", {}));
    as_interface.log(LogLevel::error, "write_failed", {});
    as_interface.log(LogLevel::error, "write_failed", {});
    CHECK(log.count("write_failed") == 1);
    CHECK(log.dropped() == 2);
}

TEST_CASE("the log level names live in the core", "[testing]") {
    static_assert(to_string(LogLevel::warn) == "warn");
    static_assert(parse_log_level("warning") == LogLevel::warn);
    CHECK_FALSE(parse_log_level("loud").has_value());
}

// The pattern an embedder follows: a scripted LLMRouter, plugged into the planning steps.

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
