#include <catch2/catch.hpp>

#include <planner/cooldown.hpp>
#include <planner/event_clock.hpp>

using namespace std::chrono_literals;
using nlohmann::json;
using planner::event_time_of;
using planner::EventClock;

namespace {
constexpr double kT0 = 1'795'852'800.0;  // 2026-11-28T08:00:00Z
std::chrono::system_clock::time_point at(double seconds) {
    return std::chrono::system_clock::time_point{
        std::chrono::duration_cast<std::chrono::system_clock::duration>(
            std::chrono::duration<double>(seconds))};
}
}  // namespace

TEST_CASE("event_time_of reads timestamp, then ts, in every spelling", "[event_clock]") {
    CHECK(event_time_of(json{{"node", "a"}, {"timestamp", kT0}}) == kT0);
    CHECK(event_time_of(json{{"node", "a"}, {"timestamp", kT0 * 1000}}) == kT0);
    CHECK(event_time_of(json{{"node", "a"}, {"timestamp", "2026-11-28T08:00:00Z"}}) == kT0);
    CHECK(event_time_of(json{{"node", "a"}, {"ts", kT0 + 5}}) == kT0 + 5);
    CHECK(event_time_of(json{{"node", "a"}, {"timestamp", kT0}, {"ts", 1.0}}) == kT0);
    // A recorded pub/sub message is looked into.
    const json recorded = {{"channel", "health_events"},
                           {"data", json{{"node", "a"}, {"ts", kT0}}.dump()}};
    CHECK(event_time_of(recorded) == kT0);
}

TEST_CASE("event_time_of has no time for missing or unreadable fields", "[event_clock]") {
    CHECK_FALSE(event_time_of(json{{"node", "a"}}));
    CHECK_FALSE(event_time_of(json{{"node", "a"}, {"timestamp", "yesterday"}}));
    CHECK_FALSE(event_time_of(json{{"node", "a"}, {"timestamp", true}}));
    CHECK_FALSE(event_time_of(json{{"node", "a"}, {"timestamp", -5}}));
    // An unreadable timestamp is not replaced by ts: the event said something else.
    CHECK_FALSE(event_time_of(json{{"node", "a"}, {"timestamp", "x"}, {"ts", kT0}}));
    CHECK_FALSE(event_time_of(json::array()));
    CHECK_FALSE(event_time_of(json{{"data", "not json"}}));
}

TEST_CASE("EventClock moves forward with the events and never back", "[event_clock]") {
    EventClock clock(at(kT0));
    CHECK(clock.wall_now() == at(kT0));
    CHECK(clock.observe(kT0 + 60) == EventClock::Step::advanced);
    CHECK(clock.wall_now() == at(kT0 + 60));
    CHECK(clock.observe(kT0 + 60) == EventClock::Step::advanced);  // the same time is no step back
    CHECK(clock.observe(kT0 + 30) == EventClock::Step::backwards);
    CHECK(clock.wall_now() == at(kT0 + 60));
    CHECK(clock.observe(std::nullopt) == EventClock::Step::missing);
    CHECK(clock.observe(std::nan("")) == EventClock::Step::missing);
    CHECK(clock.wall_now() == at(kT0 + 60));
    CHECK(to_string(EventClock::Step::backwards) == "backwards");
}

TEST_CASE("EventClock takes the first event's time even when it is older than the start",
          "[event_clock]") {
    EventClock clock(at(kT0 + 86'400));  // started "now", replaying yesterday
    CHECK(clock.observe(std::nullopt) == EventClock::Step::missing);
    CHECK(clock.wall_now() == at(kT0 + 86'400));
    CHECK(clock.observe(kT0) == EventClock::Step::advanced);
    CHECK(clock.wall_now() == at(kT0));
    CHECK(clock.observe(kT0 - 1) == EventClock::Step::backwards);
}

TEST_CASE("a cooldown on EventClock runs in event time", "[event_clock]") {
    EventClock clock(at(kT0));
    planner::CooldownTracker cooldown(300s, clock.steady_source());
    cooldown.record("piha/mosquitto");
    clock.observe(kT0 + 299);
    CHECK_FALSE(cooldown.is_ready("piha/mosquitto"));
    clock.observe(kT0 + 300);
    CHECK(cooldown.is_ready("piha/mosquitto"));
}
