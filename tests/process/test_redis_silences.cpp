// Silences shared through Redis (RedisSilences) against a real redis-server: two replicas
// with their own state directories share a silence and its expiry, Redis drops a silence at
// its end, a Redis restart loses nothing; planner-ctl and two planner-run replicas on one
// Streams group.

#include <chrono>
#include <filesystem>
#include <string>

#include <catch2/catch.hpp>

#include "planner/redis_silences.hpp"
#include "planner/testing.hpp"
#include "support/agent_fixture.hpp"
#include "support/ctl_process.hpp"
#include "support/planner_run_process.hpp"
#include "support/process.hpp"
#include "support/redis_server.hpp"
#include "support/temp_dir.hpp"

using namespace planner;
using namespace planner::testing;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

constexpr const char* kPrefix = "planner:planner:silence:";

std::int64_t epoch_ms(std::chrono::system_clock::time_point t) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

/// One replica: its own state directory, the shared Redis.
struct Replica {
    Replica(const TempDir& tmp, const std::string& name, const RedisServer& redis,
            const ManualClock& clock, LogSink* log = nullptr)
        : store({.state_dir = tmp / name, .fsync = false}, clock.wall_source(),
                clock.steady_source()),
          shared(store,
                 RedisSilencesOptions{
                     .url = parse_redis_url(redis.url()), .timeout = 500ms, .log = log},
                 clock.wall_source()) {}
    SilenceStore store;
    RedisSilences shared;
};

/// True when Redis's PEXPIRETIME `reply` is `t` to the millisecond (timestamps travel as ISO
/// text with milliseconds, so one may round where the other truncates).
bool expires_at(const std::string& reply, std::chrono::system_clock::time_point t) {
    const auto ms = std::stoll(reply);
    return ms >= epoch_ms(t) - 1 && ms <= epoch_ms(t) + 1;
}

/// A reply's integer or string, as text ("" for nil).
std::string redis_text(const RedisServer& redis, const std::vector<std::string>& args) {
    auto c = redis.connect();
    REQUIRE(c);
    std::vector<const char*> argv;
    std::vector<std::size_t> lens;
    for (const auto& a : args) {
        argv.push_back(a.data());
        lens.push_back(a.size());
    }
    auto* reply = static_cast<redisReply*>(
        redisCommandArgv(c.get(), static_cast<int>(argv.size()), argv.data(), lens.data()));
    REQUIRE(reply != nullptr);
    std::string out;
    if (reply->type == REDIS_REPLY_INTEGER) out = std::to_string(reply->integer);
    if (reply->type == REDIS_REPLY_STRING || reply->type == REDIS_REPLY_STATUS) {
        out.assign(reply->str, reply->len);
    }
    freeReplyObject(reply);
    return out;
}

}  // namespace

TEST_CASE("two replicas share a silence and its expiry through Redis", "[silences][redis]") {
    TempDir tmp;
    RedisServer redis;
    ManualClock clock(std::chrono::system_clock::now());  // Redis's own clock ends the keys
    Replica a(tmp, "a", redis, clock);
    Replica b(tmp, "b", redis, clock);

    const auto s = a.store.add("piha/*", 2h, "alice", "kernel upgrade");
    CHECK_FALSE(b.shared.active_match("piha/mosquitto", clock.wall_now()));
    REQUIRE(a.shared.sync());
    CHECK(a.shared.active_match("piha/mosquitto", clock.wall_now()) == s.id);
    // In Redis, ending by itself when the silence ends.
    const std::string key = kPrefix + s.id;
    CHECK(nlohmann::json::parse(redis_text(redis, {"GET", key}))["match"] == "piha/*");
    CHECK(expires_at(redis_text(redis, {"PEXPIRETIME", key}), s.ends_at));

    REQUIRE(b.shared.sync());
    CHECK(b.shared.active_match("piha/mosquitto", clock.wall_now()) == s.id);
    CHECK_FALSE(b.shared.active_match("solaria/jellyfin", clock.wall_now()));
    // b's own file has it now: b keeps it if Redis goes away.
    REQUIRE(b.store.list().size() == 1);
    CHECK(b.store.list()[0].created_by == "alice");

    // Expired at b: a learns it at its next sync, and its file records who ended it.
    clock.advance(10min);
    b.store.expire(s.id, "bob");
    REQUIRE(b.shared.sync());
    CHECK_FALSE(b.shared.active_match("piha/mosquitto", clock.wall_now()));
    CHECK(a.shared.active_match("piha/mosquitto", clock.wall_now()) == s.id);  // not yet synced
    REQUIRE(a.shared.sync());
    CHECK_FALSE(a.shared.active_match("piha/mosquitto", clock.wall_now()));
    REQUIRE(a.store.list().size() == 1);
    CHECK(a.store.list()[0].expired_by == "bob");
    // The record of the expiry outlives the silence's original end by keep_expired.
    const auto ended = nlohmann::json::parse(redis_text(redis, {"GET", key}));
    CHECK(ended["expired_by"] == "bob");
    CHECK(expires_at(redis_text(redis, {"PEXPIRETIME", key}),
                     clock.wall_now() + std::chrono::hours{24 * 7}));
    // A sync with nothing new writes nothing: a's file keeps its modification time.
    const auto mtime = fs::last_write_time(a.store.path());
    REQUIRE(a.shared.sync());
    CHECK(fs::last_write_time(a.store.path()) == mtime);
}

TEST_CASE("a silence ends by itself in the view and in Redis", "[silences][redis]") {
    TempDir tmp;
    RedisServer redis;
    ManualClock clock(std::chrono::system_clock::now());
    Replica a(tmp, "a", redis, clock);
    const auto s = a.store.add("*/vaultwarden", 30min, "alice", "restore test");
    REQUIRE(a.shared.sync());
    CHECK(a.shared.active_match("vps/vaultwarden", clock.wall_now()) == s.id);
    clock.advance(30min);
    CHECK_FALSE(a.shared.active_match("vps/vaultwarden", clock.wall_now()));
    // Redis drops the key at the end (PXAT); a key Redis already dropped is not written back
    // by the next sync, since the silence ran its course.
    redis_text(redis, {"DEL", kPrefix + s.id});
    REQUIRE(a.shared.sync());
    CHECK(redis_text(redis, {"EXISTS", kPrefix + s.id}) == "0");
    CHECK_FALSE(a.shared.active_match("vps/vaultwarden", clock.wall_now()));
}

TEST_CASE("a Redis restart loses no silence: the files keep them and write them back",
          "[silences][redis]") {
    TempDir tmp;
    RedisServer redis;
    ManualClock clock(std::chrono::system_clock::now());
    RecordingLogSink log;
    Replica a(tmp, "a", redis, clock, &log);
    Replica b(tmp, "b", redis, clock, &log);
    const auto s = a.store.add("piha/*", 2h, "alice", "upgrade");
    REQUIRE(a.shared.sync());
    REQUIRE(b.shared.sync());

    redis.stop();
    CHECK_FALSE(a.shared.sync());
    CHECK_FALSE(a.shared.sync());
    CHECK_FALSE(a.shared.last_error().empty());
    CHECK(a.shared.last_error().find("127.0.0.1") != std::string::npos);
    CHECK(a.shared.active_match("piha/x", clock.wall_now()) == s.id);  // still in force
    CHECK_FALSE(b.shared.sync());
    CHECK(b.shared.active_match("piha/x", clock.wall_now()) == s.id);
    // One warning per replica for the outage, not one per sync.
    const auto lines = log.lines("silences_sync_failed");
    REQUIRE(lines.size() == 2);
    CHECK(lines[0].fields["kept_silences"] == 1);

    redis.start();  // empty: no persistence
    CHECK(redis_text(redis, {"EXISTS", kPrefix + s.id}) == "0");
    REQUIRE(b.shared.sync());
    CHECK(redis_text(redis, {"EXISTS", kPrefix + s.id}) == "1");
    // A replica that never saw the silence before gets it from Redis.
    Replica c(tmp, "c", redis, clock);
    REQUIRE(c.shared.sync());
    CHECK(c.shared.active_match("piha/x", clock.wall_now()) == s.id);
}

#if defined(PLANNER_CTL_PATH) && defined(PLANNER_RUN_PATH)

namespace {

CtlResult ctl_with_redis(const TempDir& tmp, const std::vector<std::string>& args,
                         const std::string& redis_url) {
    std::vector<std::string> argv{PLANNER_CTL_PATH,
                                  "--actions-dir",
                                  (tmp / "ctl-actions").string(),
                                  "--state-dir",
                                  (tmp / "ctl-state").string(),
                                  "--redis",
                                  redis_url};
    argv.insert(argv.end(), args.begin(), args.end());
    return run_ctl_process(argv, tmp.path());
}

void xadd(const RedisServer& redis, const std::string& data) {
    redis_text(redis, {"XADD", "health_events", "*", "data", data});
}

}  // namespace

TEST_CASE("two planner-run replicas on a Streams group obey a silence planner-ctl adds",
          "[silences][redis]") {
    TempDir tmp;
    fs::create_directories(tmp / "ctl-actions");
    RedisServer redis;
    const auto replica = [&](const std::string& name) {
        fs::create_directories(tmp / name / "actions");
        return std::make_unique<PlannerRunProcess>(
            PLANNER_RUN_PATH, tmp,
            std::vector<std::string>{
                "--redis", redis.url(), "--intake", "streams", "--channel", "health_events",
                "--model", "rules", "--log-format", "json", "--log-level", "debug", "--actions-dir",
                (tmp / name / "actions").string(), "--events-dir", (tmp / name / "events").string(),
                "--state-dir", (tmp / name / "state").string()},
            std::vector<std::pair<std::string, std::string>>{}, name);
    };
    auto first = replica("one");
    auto second = replica("two");
    REQUIRE(eventually([&] {
        return first->count_log("redis_state", "state", "subscribed") > 0 &&
               second->count_log("redis_state", "state", "subscribed") > 0;
    }));

    const auto added = ctl_with_redis(tmp,
                                      {"silence", "add", "--match", "piha/*", "--for", "1h", "--by",
                                       "alice", "--reason", "upgrade"},
                                      redis.url());
    REQUIRE(added.code == 0);
    INFO(added.err);
    CHECK(added.err.empty());
    const std::string id = added.out.substr(0, added.out.find('\n'));
    // Each replica gets some of the entries (one group); a new service each time, so only the
    // silence can skip it. Both replicas must skip: each saw the silence without a restart.
    int n = 0;
    REQUIRE(eventually(
        [&] {
            xadd(redis, event_json("piha", "s" + std::to_string(++n)));
            return first->count_log("skip_silenced", "silence_id", id) > 0 &&
                   second->count_log("skip_silenced", "silence_id", id) > 0;
        },
        20s));
    // ... and each replica's own file holds it, so a Redis outage loses nothing.
    CHECK(SilenceStore({.state_dir = tmp / "one" / "state"}).list().at(0).id == id);
    CHECK(SilenceStore({.state_dir = tmp / "two" / "state"}).list().at(0).id == id);

    // Expired through planner-ctl: both replicas plan piha's services again.
    const auto expired = ctl_with_redis(tmp, {"silence", "expire", id, "--by", "bob"}, redis.url());
    REQUIRE(expired.code == 0);
    const auto listed = ctl_with_redis(tmp, {"silence", "list", "--json"}, redis.url());
    CHECK(nlohmann::json::parse(listed.out.substr(0, listed.out.find('\n')))["expired_by"] ==
          "bob");
    REQUIRE(eventually(
        [&] {
            xadd(redis, event_json("piha", "t" + std::to_string(++n)));
            return !files_under(tmp / "one" / "actions").empty() &&
                   !files_under(tmp / "two" / "actions").empty();
        },
        20s));
    for (auto* p : {first.get(), second.get()}) {
        p->process().signal(SIGTERM);
        CHECK(p->wait(20s) == 0);
    }
}

TEST_CASE("planner-ctl warns but keeps the silence when Redis is away", "[silences][redis]") {
    TempDir tmp;
    fs::create_directories(tmp / "ctl-actions");
    const auto added =
        ctl_with_redis(tmp,
                       {"silence", "add", "--match", "piha/*", "--for", "1h", "--by", "alice",
                        "--reason", "upgrade"},
                       "redis://:hunter2@127.0.0.1:" + std::to_string(free_loopback_port()));
    CHECK(added.code == 0);
    CHECK(added.err.starts_with("planner-ctl: warning: silences not synced with Redis"));
    CHECK(added.err.find("hunter2") == std::string::npos);
    CHECK(SilenceStore({.state_dir = tmp / "ctl-state"}).list().size() == 1);
}

#endif  // PLANNER_CTL_PATH && PLANNER_RUN_PATH
