#include <atomic>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include <planner/cooldown.hpp>

using namespace std::chrono_literals;
using planner::CooldownTracker;
using planner::ManualClock;

TEST_CASE("initially ready", "[cooldown]") {
    ManualClock clock;
    CooldownTracker ct(60s, clock.steady_source());
    CHECK(ct.is_ready("piha/mosquitto"));
}

TEST_CASE("not ready after record", "[cooldown]") {
    ManualClock clock;
    CooldownTracker ct(300s, clock.steady_source());
    ct.record("piha/mosquitto");
    CHECK_FALSE(ct.is_ready("piha/mosquitto"));
}

TEST_CASE("ready after elapsed", "[cooldown]") {
    ManualClock clock;
    CooldownTracker ct(1s, clock.steady_source());
    ct.record("piha/mosquitto");
    clock.advance(999ms);
    CHECK_FALSE(ct.is_ready("piha/mosquitto"));
    clock.advance(101ms);
    CHECK(ct.is_ready("piha/mosquitto"));
}

TEST_CASE("remaining seconds decreases", "[cooldown]") {
    ManualClock clock;
    CooldownTracker ct(60s, clock.steady_source());
    ct.record("piha/mosquitto");
    const double first = ct.remaining_seconds("piha/mosquitto");
    CHECK(first == Approx(60.0));
    clock.advance(15s);
    const double later = ct.remaining_seconds("piha/mosquitto");
    CHECK(later == Approx(45.0));
    CHECK(later < first);
    clock.advance(60s);
    CHECK(ct.remaining_seconds("piha/mosquitto") == 0.0);
}

TEST_CASE("remaining zero when never recorded", "[cooldown]") {
    CooldownTracker ct;
    CHECK(ct.remaining_seconds("ghost/svc") == 0.0);
}

TEST_CASE("reset clears cooldown", "[cooldown]") {
    ManualClock clock;
    CooldownTracker ct(300s, clock.steady_source());
    ct.record("piha/mosquitto");
    REQUIRE_FALSE(ct.is_ready("piha/mosquitto"));
    ct.reset("piha/mosquitto");
    CHECK(ct.is_ready("piha/mosquitto"));
    ct.reset("never/recorded");  // a no-op, not an error
    CHECK(ct.tracked_keys() == 0);
}

TEST_CASE("independent keys", "[cooldown]") {
    ManualClock clock;
    CooldownTracker ct(300s, clock.steady_source());
    ct.record("piha/mosquitto");
    CHECK_FALSE(ct.is_ready("piha/mosquitto"));
    CHECK(ct.is_ready("solaria/ollama"));
}

TEST_CASE("default cooldown is 300 seconds", "[cooldown]") {
    ManualClock clock;
    CooldownTracker ct(std::chrono::seconds{300}, clock.steady_source());
    CHECK(CooldownTracker{}.cooldown() == 300s);
    ct.record("k");
    clock.advance(299s);
    CHECK_FALSE(ct.is_ready("k"));
    clock.advance(1s);
    CHECK(ct.is_ready("k"));
}

TEST_CASE("record again restarts the period", "[cooldown]") {
    ManualClock clock;
    CooldownTracker ct(10s, clock.steady_source());
    ct.record("k");
    clock.advance(8s);
    ct.record("k");
    clock.advance(8s);
    CHECK_FALSE(ct.is_ready("k"));
    CHECK(ct.remaining_seconds("k") == Approx(2.0));
}

TEST_CASE("fractional cooldown durations are honoured", "[cooldown]") {
    ManualClock clock;
    CooldownTracker ct(std::chrono::duration<double>(0.25), clock.steady_source());
    ct.record("k");
    clock.advance(249ms);
    CHECK_FALSE(ct.is_ready("k"));
    clock.advance(1ms);
    CHECK(ct.is_ready("k"));
}

TEST_CASE("memory stays bounded over millions of distinct keys", "[cooldown]") {
    ManualClock clock;
    CooldownTracker ct(1s, clock.steady_source());
    std::size_t peak = 0;
    for (int i = 0; i < 2'000'000; ++i) {
        ct.record("node-" + std::to_string(i) + "/svc");
        if (i % 1000 == 999) clock.advance(1s);  // 1000 keys per cooldown period
        if (i % 4096 == 0) peak = std::max(peak, ct.tracked_keys());
    }
    peak = std::max(peak, ct.tracked_keys());
    INFO("peak tracked keys " << peak);
    CHECK(peak <= 4096);
}

TEST_CASE("keys still cooling down survive pruning", "[cooldown]") {
    ManualClock clock;
    CooldownTracker ct(100s, clock.steady_source());
    ct.record("keep/me");
    clock.advance(50s);
    for (int i = 0; i < 5000; ++i) {
        ct.record("k" + std::to_string(i));
        clock.advance(std::chrono::milliseconds(1));
    }
    CHECK_FALSE(ct.is_ready("keep/me"));
}

TEST_CASE("concurrent use from several threads", "[cooldown][concurrency]") {
    ManualClock clock;
    CooldownTracker ct(5s, clock.steady_source());
    constexpr int kThreads = 4;
    constexpr int kOps = 20'000;
    std::atomic<int> not_ready{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&, t] {
            for (int i = 0; i < kOps; ++i) {
                const std::string key = "n" + std::to_string(t) + "/s" + std::to_string(i % 50);
                if (!ct.is_ready(key)) ++not_ready;
                ct.record(key);
                (void)ct.remaining_seconds(key);
                if (i % 97 == 0) ct.reset(key);
                if (i % 1000 == 0) clock.advance(1s);
            }
        });
    }
    for (auto& th : threads) th.join();
    CHECK(ct.tracked_keys() <= kThreads * 50);
    CHECK(not_ready.load() > 0);
}

TEST_CASE("a new period applies to keys already recorded", "[cooldown]") {
    ManualClock clock;
    CooldownTracker ct(300s, clock.steady_source());
    ct.record("piha/mosquitto");
    ct.record("piha/zigbee2mqtt");
    clock.advance(120s);

    // A reload shortens it: two minutes ago is now long enough.
    ct.set_cooldown(60s);
    CHECK(ct.cooldown() == 60s);
    CHECK(ct.is_ready("piha/mosquitto"));

    // And lengthens it: the running cooldown of a key recorded later is extended.
    ct.record("piha/mosquitto");
    ct.set_cooldown(600s);
    clock.advance(300s);
    CHECK_FALSE(ct.is_ready("piha/mosquitto"));
    CHECK(ct.remaining_seconds("piha/mosquitto") == Approx(300.0));
    CHECK_FALSE(ct.is_ready("piha/zigbee2mqtt"));
    CHECK(ct.remaining_seconds("piha/zigbee2mqtt") == Approx(180.0));
}
