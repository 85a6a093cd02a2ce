// The queue, the workers, coalescing and stop. A router that blocks on a Gate makes every
// interleaving explicit: tests wait for "n calls entered", never for time to pass.

#include <atomic>
#include <thread>

#include <catch2/catch.hpp>

#include "support/agent_fixture.hpp"

using namespace planner;
using namespace planner::testing;
using namespace std::chrono_literals;

namespace {

FakeRouter::Responder gated(Gate& gate, RouteResult result = make_route_result()) {
    return [&gate, result](const std::vector<ChatMessage>&) {
        gate.enter();
        return result;
    };
}

/// Options whose stop() decides at once (no grace period): what is queued or in flight when
/// it is called is abandoned, so a test sees the abandoning path without waiting.
PlannerAgentOptions without_stop_grace() {
    PlannerAgentOptions options;
    options.stop_grace = 0ms;
    return options;
}

}  // namespace

TEST_CASE("an event storm over 50 services costs exactly 50 routes", "[agent][concurrency]") {
    Gate gate;
    AgentFixture f(gated(gate));
    f.agent.start();
    for (int i = 0; i < 10'000; ++i) {
        f.agent.dispatch_text("health_events", event_json("piha", "svc-" + std::to_string(i % 50)));
    }
    gate.open();
    REQUIRE(f.agent.wait_idle(30s));
    // After the storm, every key is cooling down: repeats are skipped without a route.
    for (int i = 0; i < 50; ++i) {
        f.agent.dispatch_text("health_events", event_json("piha", "svc-" + std::to_string(i)));
    }
    REQUIRE(f.agent.wait_idle(30s));
    const auto c = f.agent.counters();
    CHECK(f.router.call_count() == 50);
    CHECK(c.routed == 50);
    CHECK(c.coalesced == 9'950);
    CHECK(c.cooldown == 50);
    CHECK(f.actions.written().size() == 50);
}

TEST_CASE("an event for a key in flight is coalesced", "[agent][concurrency]") {
    Gate gate;
    AgentFixture f(gated(gate));
    f.agent.start();
    CHECK(f.agent.dispatch_text("h", event_json()) == IntakeResult::queued);
    REQUIRE(gate.wait_entered(1));
    CHECK(f.agent.dispatch_text("h", event_json()) == IntakeResult::coalesced);
    gate.open();
    REQUIRE(f.agent.wait_idle(10s));
    CHECK(f.router.call_count() == 1);
}

TEST_CASE("a full queue drops new keys with a warning and a counter", "[agent][concurrency]") {
    Gate gate;
    PlannerAgentOptions options;
    options.queue_capacity = 2;
    AgentFixture f(gated(gate), options);
    f.agent.start();
    CHECK(f.agent.dispatch_text("h", event_json("piha", "a")) == IntakeResult::queued);
    REQUIRE(gate.wait_entered(1));  // a is in flight, the queue is empty
    CHECK(f.agent.dispatch_text("h", event_json("piha", "b")) == IntakeResult::queued);
    CHECK(f.agent.dispatch_text("h", event_json("piha", "c")) == IntakeResult::queued);
    CHECK(f.agent.dispatch_text("h", event_json("piha", "d")) == IntakeResult::queue_full);
    CHECK(f.agent.dispatch_text("h", event_json("piha", "b")) == IntakeResult::coalesced);
    CHECK(f.log.count("skip_queue_full") == 1);
    gate.open();
    REQUIRE(f.agent.wait_idle(10s));
    CHECK(f.agent.counters().queue_full == 1);
    CHECK(f.router.call_count() == 3);
}

TEST_CASE("a chain failure lets the next event for the key retry", "[agent][concurrency]") {
    std::atomic<int> calls{0};
    AgentFixture f([&](const std::vector<ChatMessage>&) {
        if (calls.fetch_add(1) == 0) throw RouteError("all models failed", {});
        return make_route_result();
    });
    f.agent.start();
    f.agent.dispatch_text("h", event_json());
    REQUIRE(f.agent.wait_idle(10s));
    CHECK(f.actions.written().empty());
    f.agent.dispatch_text("h", event_json());
    REQUIRE(f.agent.wait_idle(10s));
    CHECK(f.actions.written().size() == 1);
}

TEST_CASE("several workers plan different keys at once", "[agent][concurrency]") {
    Gate gate;
    PlannerAgentOptions options;
    options.workers = 3;
    AgentFixture f(gated(gate), options);
    f.agent.start();
    for (const char* svc : {"a", "b", "c"}) f.agent.dispatch_text("h", event_json("piha", svc));
    REQUIRE(gate.wait_entered(3));
    CHECK(gate.max_inside() == 3);
    gate.open();
    REQUIRE(f.agent.wait_idle(10s));
    CHECK(f.actions.written().size() == 3);
}

TEST_CASE("one worker never calls the router concurrently", "[agent][concurrency]") {
    Gate gate;
    AgentFixture f(gated(gate));
    f.agent.start();
    for (const char* svc : {"a", "b", "c", "d"})
        f.agent.dispatch_text("h", event_json("piha", svc));
    REQUIRE(gate.wait_entered(1));
    gate.open();
    REQUIRE(f.agent.wait_idle(10s));
    CHECK(gate.max_inside() == 1);
    CHECK(f.router.call_count() == 4);
}

TEST_CASE("stop drains queued work within the grace period", "[agent][concurrency]") {
    Gate gate;
    AgentFixture f(gated(gate));
    f.agent.start();
    for (const char* svc : {"a", "b", "c"}) f.agent.dispatch_text("h", event_json("piha", svc));
    REQUIRE(gate.wait_entered(1));
    std::thread opener([&] { gate.open(); });
    const auto report = f.agent.stop();
    opener.join();
    CHECK(report.drained);
    CHECK(f.actions.written().size() == 3);
    CHECK(f.events.emitted().size() == 3);
    CHECK(f.agent.dispatch_text("h", event_json("piha", "late")) == IntakeResult::stopped);
    CHECK(f.agent.counters().stopping == 1);
}

TEST_CASE("stop abandons queued work after the grace period", "[agent][concurrency]") {
    Gate gate;
    AgentFixture f(gated(gate), without_stop_grace());
    f.agent.start();
    for (const char* svc : {"a", "b", "c"}) f.agent.dispatch_text("h", event_json("piha", svc));
    REQUIRE(gate.wait_entered(1));
    const auto report = f.agent.stop();
    CHECK_FALSE(report.drained);
    CHECK(report.abandoned_queued == 2);
    CHECK(report.still_in_flight == 1);
    gate.open();  // the in-flight answer arrives after the decision: it is dropped, not written
    REQUIRE(f.agent.wait_idle(10s));
    CHECK(f.log.count("stop_abandoned") == 1);
    CHECK(f.actions.written().empty());
    CHECK(f.agent.counters().abandoned == 3);
}

TEST_CASE("the in-flight answer after an abandoning stop writes nothing", "[agent][concurrency]") {
    Gate gate;
    {
        AgentFixture f(gated(gate), without_stop_grace());
        f.agent.start();
        f.agent.dispatch_text("h", event_json());
        REQUIRE(gate.wait_entered(1));
        f.agent.stop();
        gate.open();
        REQUIRE(f.agent.wait_idle(10s));
        CHECK(f.actions.written().empty());
        CHECK(f.agent.counters().abandoned == 1);
    }  // the destructor joins the worker that was still in flight
}

TEST_CASE("wait when full blocks the producer instead of dropping", "[agent][concurrency]") {
    Gate gate;
    PlannerAgentOptions options;
    options.queue_capacity = 1;
    options.wait_when_full = true;
    AgentFixture f(gated(gate), options);
    f.agent.start();
    f.agent.dispatch_text("h", event_json("piha", "a"));
    REQUIRE(gate.wait_entered(1));
    f.agent.dispatch_text("h", event_json("piha", "b"));  // fills the queue
    std::atomic<bool> done{false};
    std::thread producer([&] {
        f.agent.dispatch_text("h", event_json("piha", "c"));
        done = true;
    });
    CHECK_FALSE(done.load());
    gate.open();
    producer.join();
    REQUIRE(f.agent.wait_idle(10s));
    CHECK(f.agent.counters().queue_full == 0);
    CHECK(f.router.call_count() == 3);
}

TEST_CASE("oldest in flight age reports a stuck router call", "[agent][concurrency]") {
    Gate gate;
    AgentFixture f(gated(gate));
    CHECK(f.agent.oldest_in_flight_age() == 0s);
    f.agent.start();
    f.agent.dispatch_text("h", event_json());
    REQUIRE(gate.wait_entered(1));
    f.clock.advance(90s);
    CHECK(f.agent.oldest_in_flight_age() == 90s);
    gate.open();
    REQUIRE(f.agent.wait_idle(10s));
    CHECK(f.agent.oldest_in_flight_age() == 0s);
}

TEST_CASE("dispatch from many threads keeps counters exact", "[agent][concurrency]") {
    AgentFixture f(make_route_result());
    f.agent.start();
    std::vector<std::thread> producers;
    for (int t = 0; t < 4; ++t) {
        producers.emplace_back([&, t] {
            for (int i = 0; i < 500; ++i) {
                if (i % 5 == 0) {
                    f.agent.dispatch_text("h", "garbage");
                } else {
                    f.agent.dispatch_text(
                        "h", event_json("n" + std::to_string(t), "s" + std::to_string(i % 10)));
                }
            }
        });
    }
    for (auto& p : producers) p.join();
    REQUIRE(f.agent.wait_idle(30s));
    const auto c = f.agent.counters();
    CHECK(c.received_total() == 2000);
    CHECK(c.malformed == 400);
    CHECK(c.routed == 4 * 8);  // i % 10 over i%5 != 0 leaves 8 services per thread
    CHECK(c.malformed + c.coalesced + c.cooldown + c.routed == 2000);
}
