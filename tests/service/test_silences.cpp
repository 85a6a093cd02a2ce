// Silences (maintenance windows): the store over the state directory with an injected clock,
// and the agent skipping what they cover. planner-ctl's silence commands and planner-run:
// process/test_silences.cpp.

#include <chrono>
#include <filesystem>

#include <catch2/catch.hpp>

#include "planner/agent.hpp"
#include "planner/agent_testing.hpp"
#include "planner/file_action_store.hpp"
#include "planner/silence_store.hpp"
#include "planner/testing.hpp"
#include "support/action_store_dirs.hpp"
#include "support/agent_fixture.hpp"
#include "support/planner_run_process.hpp"
#include "support/temp_dir.hpp"

using planner::testing::as_json;

using namespace planner;
using namespace planner::testing;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

SilenceStore make_store(const TempDir& tmp, const ManualClock& clock) {
    return SilenceStore({.state_dir = tmp / "state", .fsync = false}, clock.wall_source(),
                        clock.steady_source());
}

}  // namespace

TEST_CASE("a silence covers matching services until it ends by itself", "[silences]") {
    TempDir tmp;
    ManualClock clock;
    auto store = make_store(tmp, clock);
    CHECK_FALSE(store.active_match("piha/mosquitto", clock.wall_now()));  // no file yet

    const auto s = store.add("piha/*", 2h, "alice", "kernel upgrade");
    CHECK(s.id.starts_with("sil-"));
    CHECK(is_valid_action_id(s.id));
    CHECK(store.active_match("piha/mosquitto", clock.wall_now()) == s.id);
    CHECK(store.active_match("piha/zigbee2mqtt", clock.wall_now()) == s.id);
    CHECK_FALSE(store.active_match("solaria/mosquitto", clock.wall_now()));
    CHECK_FALSE(store.active_match("pihax/mosquitto", clock.wall_now()));

    clock.advance(2h - 1s);
    CHECK(store.active_match("piha/mosquitto", clock.wall_now()) == s.id);
    clock.advance(1s);
    CHECK_FALSE(store.active_match("piha/mosquitto", clock.wall_now()));

    // Still listed (ended), with who made it and why.
    const auto all = store.list();
    REQUIRE(all.size() == 1);
    CHECK(all[0].created_by == "alice");
    CHECK(all[0].reason == "kernel upgrade");
    CHECK(all[0].match == "piha/*");
}

TEST_CASE("expire ends a silence at once, and unknown, ended and hostile ids are refused",
          "[silences]") {
    TempDir tmp;
    ManualClock clock;
    auto store = make_store(tmp, clock);
    const auto s = store.add("*/vaultwarden", 1h, "alice", "restore test");
    REQUIRE(store.active_match("vps/vaultwarden", clock.wall_now()));
    const auto ended = store.expire(s.id, "bob");
    CHECK(ended.expired_by == "bob");
    CHECK_FALSE(store.active_match("vps/vaultwarden", clock.wall_now()));

    auto kind_of = [&](auto&& f) {
        try {
            f();
        } catch (const SilenceError& e) {
            return e.kind();
        }
        FAIL("no SilenceError");
        return SilenceError::Kind::io;
    };
    CHECK(kind_of([&] { store.expire(s.id, "bob"); }) == SilenceError::Kind::conflict);
    CHECK(kind_of([&] { store.expire("sil-nope", "bob"); }) == SilenceError::Kind::not_found);
    CHECK(kind_of([&] { store.expire("../../etc/passwd", "bob"); }) == SilenceError::Kind::invalid);
    CHECK(kind_of([&] { store.add("", 1h, "a", "r"); }) == SilenceError::Kind::invalid);
    CHECK(kind_of([&] { store.add("piha/\n*", 1h, "a", "r"); }) == SilenceError::Kind::invalid);
    CHECK(kind_of([&] { store.add("piha/*", 0s, "a", "r"); }) == SilenceError::Kind::invalid);
    CHECK(kind_of([&] { store.add("piha/*", 24h * 365, "a", "r"); }) ==
          SilenceError::Kind::invalid);
    CHECK(kind_of([&] { store.add("piha/*", 1h, "", "r"); }) == SilenceError::Kind::invalid);
    // Nothing but the two files in the state directory, whatever the ids said.
    CHECK(files_under(tmp / "state").size() == 2);
    CHECK(files_under(tmp.path()).size() == 2);
}

TEST_CASE("another process's silence is seen after one recheck interval, not per event",
          "[silences]") {
    TempDir tmp;
    ManualClock clock;
    auto planner_side = make_store(tmp, clock);
    auto ctl_side = make_store(tmp, clock);
    CHECK_FALSE(planner_side.active_match("piha/mosquitto", clock.wall_now()));

    const auto s = ctl_side.add("piha/mosquitto", 1h, "alice", "maintenance");
    // Within the interval the file is not looked at again: the planner still plans.
    CHECK_FALSE(planner_side.active_match("piha/mosquitto", clock.wall_now()));
    clock.advance(1s);
    CHECK(planner_side.active_match("piha/mosquitto", clock.wall_now()) == s.id);

    ctl_side.expire(s.id, "alice");
    clock.advance(1s);
    CHECK_FALSE(planner_side.active_match("piha/mosquitto", clock.wall_now()));

    // A file that is not silences keeps the last good set and says why.
    const auto again = ctl_side.add("piha/*", 1h, "alice", "again");
    clock.advance(1s);
    CHECK(planner_side.active_match("piha/x", clock.wall_now()) == again.id);
    {
        std::FILE* f = std::fopen(planner_side.path().c_str(), "w");
        std::fputs("[not silences", f);
        std::fclose(f);
    }
    clock.advance(1s);
    CHECK(planner_side.active_match("piha/x", clock.wall_now()) == again.id);
    CHECK(planner_side.last_error().find("not a silences file") != std::string::npos);
}

TEST_CASE("a damaged silences file is logged once per version and the silences before stay",
          "[silences]") {
    TempDir tmp;
    ManualClock clock;
    RecordingLogSink log;
    SilenceStore planner_side({.state_dir = tmp / "state", .fsync = false, .log = &log},
                              clock.wall_source(), clock.steady_source());
    auto ctl_side = make_store(tmp, clock);
    const auto s = ctl_side.add("piha/*", 1h, "alice", "upgrade");
    CHECK(planner_side.active_match("piha/x", clock.wall_now()) == s.id);
    CHECK(log.lines("silences_unreadable").empty());

    const auto damage = [&](const char* text) {
        std::FILE* f = std::fopen(planner_side.path().c_str(), "w");
        std::fputs(text, f);
        std::fclose(f);
    };
    damage("{\"silences\": [truncated");
    clock.advance(1s);
    CHECK(planner_side.active_match("piha/x", clock.wall_now()) == s.id);  // fail-safe: kept
    clock.advance(1s);
    CHECK(planner_side.active_match("piha/x", clock.wall_now()) == s.id);
    auto lines = log.lines("silences_unreadable");
    REQUIRE(lines.size() == 1);  // once for this version of the file, not once per look
    CHECK(lines[0].level == LogLevel::warn);
    CHECK(lines[0].fields["path"] == planner_side.path().string());
    CHECK(lines[0].fields["error"] == "not a silences file");
    CHECK(lines[0].fields["kept_silences"] == 1);
    // planner-ctl refuses to overwrite it.
    CHECK_THROWS_AS(ctl_side.add("solaria/*", 1h, "bob", "r"), SilenceError);

    // A planner that starts with the damaged file has no silences, says so, and plans.
    SilenceStore restarted({.state_dir = tmp / "state", .fsync = false, .log = &log},
                           clock.wall_source(), clock.steady_source());
    CHECK_FALSE(restarted.active_match("piha/x", clock.wall_now()));
    lines = log.lines("silences_unreadable");
    REQUIRE(lines.size() == 2);
    CHECK(lines[1].fields["kept_silences"] == 0);

    // Another bad version is logged again; a good one is read at once.
    damage("[]");
    clock.advance(1s);
    CHECK(planner_side.active_match("piha/x", clock.wall_now()) == s.id);
    CHECK(log.lines("silences_unreadable").size() == 3);
    damage("{\"silences\": []}");
    clock.advance(1s);
    CHECK_FALSE(planner_side.active_match("piha/x", clock.wall_now()));
    CHECK(planner_side.last_error().empty());
    CHECK(log.lines("silences_unreadable").size() == 3);
}

TEST_CASE("the agent skips silenced events, counts and logs them with the silence id",
          "[silences]") {
    TempDir tmp;
    ManualClock clock;
    auto store = make_store(tmp, clock);
    FakeRouter router([](const std::vector<ChatMessage>&) { return make_route_result(); });
    RecordingActionSink actions;
    RecordingEventSink events;
    RecordingLogSink log;
    PlannerAgent agent({}, {.router = router,
                            .actions = actions,
                            .events = events,
                            .log = log,
                            .steady = clock.steady_source(),
                            .wall = clock.wall_source(),
                            .silences = &store});
    const auto s = store.add("piha/*", 1h, "alice", "upgrade");

    CHECK(agent.dispatch_text("health", event_json("piha", "mosquitto")) == IntakeResult::silenced);
    CHECK(handle_event(agent, make_health_event()) == HandleResult::silenced);
    CHECK(router.calls().empty());
    CHECK(actions.written().empty());
    const auto c = agent.counters();
    CHECK(c.silenced == 2);
    CHECK(c.to_json()["skipped"]["silenced"] == 2);
    const auto lines = log.lines("skip_silenced");
    REQUIRE(lines.size() == 2);
    CHECK(lines[0].level == LogLevel::debug);
    CHECK(lines[0].fields["silence_id"] == s.id);
    CHECK(lines[0].fields["key"] == "piha/mosquitto");

    // Another node is planned; the silence starts no cooldown, so once it ends piha is too.
    CHECK(handle_event(agent, make_health_event("solaria", "mosquitto")) == HandleResult::proposed);
    clock.advance(1h);
    CHECK(handle_event(agent, make_health_event()) == HandleResult::proposed);
    CHECK(agent.counters().silenced == 2);
}
