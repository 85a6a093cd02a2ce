// One pending proposal per service: the agent asks the ActionStore over the directory its
// FileActionSink writes, also after a restart.

#include <catch2/catch.hpp>

#include <planner/testing.hpp>
#include "planner/agent.hpp"
#include "planner/agent_testing.hpp"
#include "planner/file_action_store.hpp"
#include "planner/file_sinks.hpp"
#include "support/action_store_dirs.hpp"
#include "support/agent_fixture.hpp"
#include "support/temp_dir.hpp"

using planner::testing::as_json;

using namespace planner;
using namespace planner::testing;
using namespace std::chrono_literals;

namespace {

struct Planner {
    Planner(const std::filesystem::path& actions_dir, ManualClock& clock)
        : sink(actions_dir, {false}),
          store(store_options(actions_dir), nullptr, clock.wall_source()),
          router([](const std::vector<ChatMessage>&) { return make_route_result(); }),
          agent(agent_options(), {.router = router,
                                  .actions = sink,
                                  .events = events,
                                  .log = log,
                                  .steady = clock.steady_source(),
                                  .wall = clock.wall_source(),
                                  .pending = &store}) {}

    static ActionStoreOptions store_options(const std::filesystem::path& dir) {
        ActionStoreOptions o;
        o.actions_dir = dir;
        o.state_dir = dir.parent_path() / "state";
        o.fsync = false;
        return o;
    }
    static PlannerAgentOptions agent_options() {
        PlannerAgentOptions o;
        o.cooldown = 60s;
        o.proposal_ttl = 2h;
        return o;
    }

    FileActionSink sink;
    FileActionStore store;
    FakeRouter router;
    RecordingEventSink events;
    RecordingLogSink log;
    PlannerAgent agent;
};

std::size_t count_files(const std::filesystem::path& dir) {
    std::size_t n = 0;
    for (const auto& e : std::filesystem::directory_iterator(dir))
        n += e.path().extension() == ".json";
    return n;
}

}  // namespace

TEST_CASE("a pending proposal blocks a second one for the same service", "[agent][pending]") {
    TempDir tmp;
    ManualClock clock;
    Planner p(tmp / "actions", clock);
    CHECK(handle_event(p.agent, make_health_event()) == HandleResult::proposed);
    const auto list = as_json(p.store.list());
    REQUIRE(list.size() == 1);
    CHECK(list[0]["expires_at"] == format_utc_timestamp(clock.wall_now() + 2h));

    clock.advance(61s);  // cooldown over, proposal still pending
    CHECK(handle_event(p.agent, make_health_event()) == HandleResult::pending);
    // The skip started a cooldown: a flapping service rewrites the file once per period.
    CHECK(p.agent.dispatch_text("health", event_json()) == IntakeResult::cooldown);
    clock.advance(61s);
    CHECK(p.agent.dispatch_text("health", event_json()) == IntakeResult::pending);
    REQUIRE(p.agent.wait_idle(5s));  // the occurrence is recorded on the follow-up thread
    CHECK(count_files(tmp / "actions") == 1);
    CHECK(p.router.call_count() == 1);
    CHECK(p.agent.counters().pending == 2);
    CHECK(p.agent.counters().to_json()["skipped"]["pending"] == 2);
    const auto file = *as_json(p.store.read(list[0]["action_id"].get<std::string>()));
    CHECK(file["occurrences"] == 3);
    CHECK(file["last_seen"] == format_utc_timestamp(clock.wall_now()));

    // Another service is planned as usual.
    CHECK(handle_event(p.agent, make_health_event("piha", "grafana")) == HandleResult::proposed);

    // Once decided, the service can be proposed again.
    p.store.reject(list[0]["action_id"].get<std::string>(), "alice", "flapping is expected");
    clock.advance(61s);
    CHECK(handle_event(p.agent, make_health_event()) == HandleResult::proposed);
    CHECK(count_files(tmp / "actions") == 3);
}

TEST_CASE("after a restart the planner does not propose what is still pending",
          "[agent][pending]") {
    TempDir tmp;
    ManualClock clock;
    {
        Planner first(tmp / "actions", clock);
        CHECK(handle_event(first.agent, make_health_event()) == HandleResult::proposed);
    }
    // A new process: cooldown lost, the directory remembers.
    Planner second(tmp / "actions", clock);
    second.agent.start();
    CHECK(second.agent.dispatch_text("health", event_json()) == IntakeResult::pending);
    CHECK(second.agent.wait_idle(5s));
    CHECK(second.router.call_count() == 0);
    CHECK(count_files(tmp / "actions") == 1);

    // Past its expiry it no longer blocks, even before the sweep ran.
    clock.advance(2h + 1s);
    CHECK(second.agent.dispatch_text("health", event_json()) == IntakeResult::queued);
    CHECK(second.agent.wait_idle(5s));
    CHECK(count_files(tmp / "actions") == 2);
}

TEST_CASE("without a pending index the agent behaves as before", "[agent][pending]") {
    TempDir tmp;
    ManualClock clock;
    FileActionSink sink(tmp / "actions", {false});
    FakeRouter router([](const std::vector<ChatMessage>&) { return make_route_result(); });
    RecordingEventSink events;
    RecordingLogSink log;
    PlannerAgentOptions o;
    o.cooldown = 60s;
    PlannerAgent agent(o, {.router = router,
                           .actions = sink,
                           .events = events,
                           .log = log,
                           .steady = clock.steady_source(),
                           .wall = clock.wall_source()});
    CHECK(handle_event(agent, make_health_event()) == HandleResult::proposed);
    clock.advance(61s);
    CHECK(handle_event(agent, make_health_event()) == HandleResult::proposed);
    CHECK(count_files(tmp / "actions") == 2);
}
