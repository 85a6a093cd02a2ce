// RedisReservations against a real redis-server, and what it is for: three planner-run
// replicas in one consumer group, one killed with SIGKILL mid-storm, propose each service once.

#include <fstream>
#include <set>

#include <catch2/catch.hpp>

#include <planner/redis_reservations.hpp>

#include "support/planner_run_process.hpp"
#include "support/provider_server.hpp"
#include "support/redis_server.hpp"
#include "support/temp_dir.hpp"

using namespace planner;
using namespace planner::testing;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

RedisReservationsOptions options_for(const RedisServer& redis, std::string owner) {
    RedisReservationsOptions o;
    o.url = parse_redis_url(redis.url());
    o.prefix = "planner:g:plan:";
    o.owner = std::move(owner);
    o.planning_hold = 30s;
    return o;
}

/// PTTL of a key in milliseconds: -2 when missing, -1 without expiry.
long long pttl(const RedisServer& redis, const std::string& key) {
    auto c = redis.connect();
    REQUIRE(c);
    auto* r = static_cast<redisReply*>(redisCommand(c.get(), "PTTL %s", key.c_str()));
    REQUIRE(r != nullptr);
    const long long v = r->integer;
    freeReplyObject(r);
    return v;
}

}  // namespace

TEST_CASE("reservations: one planner at a time, a cooldown for all, released by its holder",
          "[reservations][redis]") {
    RedisServer redis;
    RedisReservations a(options_for(redis, "a-1"));
    RedisReservations b(options_for(redis, "b-2"));
    const std::string key = "planner:g:plan:piha/mosquitto";

    CHECK(a.try_reserve("piha/mosquitto"));
    CHECK_FALSE(b.try_reserve("piha/mosquitto"));  // a is planning it
    CHECK(b.try_reserve("piha/grafana"));          // another service is free
    CHECK(pttl(redis, key) > 0);
    CHECK(pttl(redis, key) <= 30'000);

    // Only the holder releases: b's release of a's key changes nothing.
    b.release("piha/mosquitto");
    CHECK_FALSE(b.try_reserve("piha/mosquitto"));
    a.release("piha/mosquitto");
    CHECK(pttl(redis, key) == -2);

    // Planned: the cooldown starts now for every planner, and expires by itself.
    REQUIRE(b.try_reserve("piha/mosquitto"));
    b.planned("piha/mosquitto", 300s);
    CHECK_FALSE(a.try_reserve("piha/mosquitto"));
    CHECK(pttl(redis, key) > 290'000);
    CHECK(pttl(redis, key) <= 300'000);
    b.planned("piha/mosquitto", 0s);  // no cooldown configured: free at once
    CHECK(a.try_reserve("piha/mosquitto"));
}

TEST_CASE("reservations: Redis away is an error of one line, and a restart is survived",
          "[reservations][redis]") {
    RedisServer redis;
    RedisReservations r(options_for(redis, "a-1"));
    REQUIRE(r.try_reserve("piha/mosquitto"));
    redis.stop();
    try {
        r.try_reserve("piha/grafana");
        FAIL("a reservation without Redis succeeded");
    } catch (const std::runtime_error& e) {
        CHECK_THAT(e.what(), Catch::Contains("redis://127.0.0.1:"));
        CHECK(std::string(e.what()).find('\n') == std::string::npos);
    }
    redis.start();
    CHECK(r.try_reserve("piha/grafana"));
}

TEST_CASE("reservations: three replicas, one killed mid-storm, propose each service once",
          "[reservations][streams][crash]") {
    RedisServer redis;
    TempDir tmp;
    auto c = redis.connect();
    REQUIRE(c);
    // claim_idle short, so the survivors take the dead replica's entries within the test.
    { std::ofstream(tmp / "planner.yaml") << "intake: streams\nclaim_idle: 1s\n"; }
    constexpr int kServices = 40;
    constexpr int kRounds = 15;
    // The victim's model never answers: it is killed while planning, holding reservations
    // and with entries in hand, as a replica on a wedged GPU box would be.
    ProviderServer stuck;
    stuck.script(std::vector<ScriptedReply>(4, hang()));
    const auto replica = [&](int i) {
        const std::string name = "replica" + std::to_string(i);
        const std::string model = i == 0 ? "ollama/qwen2.5:7b@" + stuck.url() : "rules";
        return std::make_unique<PlannerRunProcess>(
            PLANNER_RUN_PATH, tmp,
            std::vector<std::string>{"--config",      (tmp / "planner.yaml").string(),
                                     "--redis",       redis.url(),
                                     "--model",       model,
                                     "--llm-timeout", "60",
                                     "--stop-grace",  "0.2",
                                     "--channel",     "health_events",
                                     "--actions-dir", (tmp / name / "actions").string(),
                                     "--events-dir",  (tmp / name / "events").string(),
                                     "--node",        name,
                                     "--log-level",   "debug"},
            std::vector<std::pair<std::string, std::string>>{}, name);
    };
    std::vector<std::unique_ptr<PlannerRunProcess>> replicas;
    for (int i = 0; i < 3; ++i) replicas.push_back(replica(i));
    // Each created the group (the first one wins, the others see BUSYGROUP) and reads it.
    REQUIRE(eventually([&] {
        for (const auto& r : replicas) {
            if (r->count_log("redis_state", "state", "subscribed") == 0) return false;
        }
        return true;
    }));
    const auto add = [&](int round) {
        for (int s = 0; s < kServices; ++s) {
            const std::string e = nlohmann::json{
                {"type", "service_unhealthy"},
                {"node", "piha"},
                {"service", "svc" + std::to_string(s)},
                {"payload",
                 {{"round", round}}}}.dump();
            redisAppendCommand(c.get(), "XADD health_events * data %b", e.data(), e.size());
        }
        for (int s = 0; s < kServices; ++s) {
            void* raw = nullptr;
            REQUIRE(redisGetReply(c.get(), &raw) == REDIS_OK);
            freeReplyObject(raw);
        }
    };
    for (int round = 0; round < kRounds; ++round) {
        add(round);
        // Mid-storm, once the victim has work in hand.
        if (round == kRounds / 2) {
            REQUIRE(eventually([&] { return stuck.requests().size() > 0; }));
            replicas[0]->process().signal(SIGKILL);
            replicas[0]->wait(10s);
        }
    }
    const auto proposals = [&] {
        std::multiset<std::string> services;
        for (int i = 0; i < 3; ++i) {
            for (const auto& f : files_under(tmp / ("replica" + std::to_string(i)) / "actions")) {
                if (f.extension() != ".json" || f.filename().string().starts_with(".")) continue;
                services.insert(nlohmann::json::parse(read_text(f)).value("service", ""));
            }
        }
        return services;
    };
    const auto pending_entries = [&] {
        auto* r = static_cast<redisReply*>(redisCommand(c.get(), "XPENDING health_events planner"));
        REQUIRE(r != nullptr);
        const long long n = r->type == REDIS_REPLY_ARRAY ? r->element[0]->integer : -1;
        freeReplyObject(r);
        return n;
    };
    // Every entry settled, the dead replica's taken over by the survivors.
    REQUIRE(
        eventually([&] { return pending_entries() == 0 && proposals().size() >= kServices; }, 30s));
    for (int i = 1; i < 3; ++i) {
        replicas[static_cast<std::size_t>(i)]->process().signal(SIGTERM);
        REQUIRE(replicas[static_cast<std::size_t>(i)]->wait(20s) == 0);
    }
    const auto services = proposals();
    INFO("proposals: " << services.size());
    CHECK(services.size() == kServices);  // once each, across all replicas
    CHECK(std::set<std::string>(services.begin(), services.end()).size() == kServices);
    // The replicas did skip each other's services, through Redis.
    std::size_t shared_skips = 0;
    for (int i = 1; i < 3; ++i) {
        shared_skips +=
            replicas[static_cast<std::size_t>(i)]->count_log("skip_cooldown", "shared", true);
    }
    CHECK(shared_skips > 0);
}
