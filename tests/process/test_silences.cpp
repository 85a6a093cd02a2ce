// Silences through the programs: planner-ctl silence add/list/expire and its refusals, a
// running planner-run seeing them, a replay across a restart, a damaged file. The store and
// the agent: service/test_silences.cpp.

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
#include "support/ctl_process.hpp"
#include "support/planner_run_process.hpp"
#include "support/process.hpp"
#include "support/redis_server.hpp"
#include "support/temp_dir.hpp"

using planner::testing::as_json;
using namespace planner;
using namespace planner::testing;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

#ifdef PLANNER_CTL_PATH

namespace {

CtlResult ctl_in(const TempDir& tmp, std::vector<std::string> args) {
    std::vector<std::string> argv = {PLANNER_CTL_PATH, "--actions-dir", (tmp / "actions").string(),
                                     "--state-dir", (tmp / "state").string()};
    argv.insert(argv.end(), args.begin(), args.end());
    return run_ctl_process(std::move(argv), tmp.path());
}

}  // namespace

TEST_CASE("planner-ctl silence add, list and expire", "[silences]") {
    TempDir tmp;
    fs::create_directories(tmp / "actions");
    const auto added = ctl_in(tmp, {"silence", "add", "--match", "piha/*", "--for", "2h", "--by",
                                    "alice", "--reason", "kernel upgrade"});
    REQUIRE(added.code == 0);
    const std::string id = added.out.substr(0, added.out.find('\n'));
    CHECK(id.starts_with("sil-"));
    CHECK(added.out == id + "\n");  // the ID alone, for scripts

    const auto table = ctl_in(tmp, {"silence", "list"});
    REQUIRE(table.code == 0);
    CHECK(table.out.find(id) != std::string::npos);
    CHECK(table.out.find("piha/*") != std::string::npos);
    CHECK(table.out.find("active") != std::string::npos);
    CHECK(table.out.find("kernel upgrade") != std::string::npos);

    const auto json = ctl_in(tmp, {"silence", "list", "--json"});
    REQUIRE(json.code == 0);
    const auto j = nlohmann::json::parse(json.out.substr(0, json.out.find('\n')));
    CHECK(j["id"] == id);
    CHECK(j["match"] == "piha/*");
    CHECK(j["active"] == true);
    CHECK(j["created_by"] == "alice");

    // What planner-ctl wrote, the planner's store reads.
    SilenceStore store({.state_dir = tmp / "state"});
    CHECK(store.active_match("piha/mosquitto", std::chrono::system_clock::now()) == id);

    const auto expired = ctl_in(tmp, {"silence", "expire", id, "--by", "bob"});
    REQUIRE(expired.code == 0);
    CHECK(expired.out == id + ": expired by bob\n");
    const auto after = nlohmann::json::parse(ctl_in(tmp, {"silence", "list", "--json"}).out);
    CHECK(after["active"] == false);
    CHECK(after["expired_by"] == "bob");

    const auto again = ctl_in(tmp, {"silence", "expire", id, "--by", "bob"});
    CHECK(again.code == 1);
    CHECK(again.err.find("already ended") != std::string::npos);
}

TEST_CASE("planner-ctl silence refuses bad input with one line", "[silences]") {
    TempDir tmp;
    fs::create_directories(tmp / "actions");
    const std::vector<std::pair<std::vector<std::string>, int>> cases = {
        {{"silence"}, 2},
        {{"silence", "mute"}, 2},
        {{"silence", "add", "--for", "2h", "--by", "a", "--reason", "r"}, 2},
        {{"silence", "add", "--match", "piha/*", "--for", "soon", "--by", "a", "--reason", "r"}, 2},
        {{"silence", "add", "--match", "piha/*", "--for", "2h", "--reason", "r"}, 2},
        {{"silence", "add", "--match", "piha/*", "--for", "400d", "--by", "a", "--reason", "r"}, 2},
        {{"silence", "expire", "../../etc/passwd", "--by", "a"}, 2},
        {{"silence", "expire", "--by", "a"}, 2},
        {{"silence", "expire", "sil-unknown", "--by", "a"}, 1},
    };
    for (const auto& [args, code] : cases) {
        INFO(args.back());
        const auto r = ctl_in(tmp, args);
        CHECK(r.code == code);
        CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
        CHECK(r.err.starts_with("planner-ctl: "));
    }
    CHECK_FALSE(fs::exists(tmp / "state" / "silences.json"));  // nothing written for any
}

#ifdef PLANNER_RUN_PATH

TEST_CASE("a running planner-run sees a silence planner-ctl adds, within a second",
          "[silences][redis]") {
    TempDir tmp;
    fs::create_directories(tmp / "actions");
    RedisServer redis;
    PlannerRunProcess run(
        PLANNER_RUN_PATH, tmp,
        {"--redis", redis.url(), "--model", "rules", "--log-format", "json", "--log-level", "debug",
         "--actions-dir", (tmp / "actions").string(), "--events-dir", (tmp / "events").string(),
         "--state-dir", (tmp / "state").string()});
    REQUIRE(eventually([&] { return redis.subscribers("health_events") == 1; }));
    REQUIRE(redis.publish("health_events", event_json("piha", "before")) == 1);
    REQUIRE(eventually([&] { return files_under(tmp / "actions").size() == 1; }));

    const auto added = ctl_in(tmp, {"silence", "add", "--match", "piha/*", "--for", "1h", "--by",
                                    "alice", "--reason", "upgrade"});
    REQUIRE(added.code == 0);
    // A new service each time, so neither cooldown nor a pending proposal can skip it: only the
    // silence does, once planner-run has looked at the file again.
    int n = 0;
    REQUIRE(eventually(
        [&] {
            redis.publish("health_events", event_json("piha", "s" + std::to_string(++n)));
            return run.count_log("skip_silenced") > 0;
        },
        10s));
    run.process().signal(SIGTERM);
    REQUIRE(run.wait(20s) == 0);
    const auto summary = run.log_lines().back();
    REQUIRE(summary["event"] == "planner_stopped");
    CHECK(summary["skipped"]["silenced"] == run.count_log("skip_silenced"));
    CHECK(summary["skipped"]["silenced"].get<int>() >= 1);
    // Every event was either planned (before the silence was seen) or silenced.
    CHECK(summary["received_total"] ==
          summary["routed"].get<int>() + summary["skipped"]["silenced"].get<int>());
    CHECK(files_under(tmp / "actions").size() == summary["routed"].get<std::size_t>());
}

#endif  // PLANNER_RUN_PATH

#endif  // PLANNER_CTL_PATH

#ifdef PLANNER_RUN_PATH

TEST_CASE("planner-run --replay does not plan a silenced event, also after a restart",
          "[silences]") {
    TempDir tmp;
    fs::create_directories(tmp / "actions");
    {
        std::FILE* f = std::fopen((tmp / "events.jsonl").c_str(), "w");
        std::fputs(
            (event_json("piha", "mosquitto") + "\n" + event_json("solaria", "jellyfin") + "\n")
                .c_str(),
            f);
        std::fclose(f);
    }
    SilenceStore({.state_dir = tmp / "state"}).add("piha/*", 2h, "alice", "upgrade");

    for (const std::string tag : {"first", "restarted"}) {
        PlannerRunProcess run(PLANNER_RUN_PATH, tmp,
                              {"--replay", (tmp / "events.jsonl").string(), "--model", "rules",
                               "--log-format", "json", "--log-level", "debug", "--cooldown", "0",
                               "--actions-dir", (tmp / "actions" / tag).string(), "--events-dir",
                               (tmp / "events").string(), "--state-dir", (tmp / "state").string()},
                              {}, tag);
        REQUIRE(run.wait(60s) == 0);
        INFO(run.stderr_text());
        const auto actions = files_under(tmp / "actions" / tag);
        REQUIRE(actions.size() == 1);
        CHECK(nlohmann::json::parse(read_text(actions[0]))["node"] == "solaria");
        CHECK(run.count_log("skip_silenced", "key", "piha/mosquitto") == 1);
        const auto summary = run.log_lines().back();
        CHECK(summary["event"] == "planner_stopped");
        CHECK(summary["skipped"]["silenced"] == 1);
    }
}

TEST_CASE("planner-run with a damaged silences file logs one line and plans", "[silences]") {
    TempDir tmp;
    fs::create_directories(tmp / "actions");
    fs::create_directories(tmp / "state");
    {
        std::FILE* f = std::fopen((tmp / "events.jsonl").c_str(), "w");
        std::fputs((event_json("piha", "mosquitto") + "\n").c_str(), f);
        std::fclose(f);
        f = std::fopen((tmp / "state" / "silences.json").c_str(), "w");
        std::fputs("{\"silences\": [", f);
        std::fclose(f);
    }
    PlannerRunProcess run(
        PLANNER_RUN_PATH, tmp,
        {"--replay", (tmp / "events.jsonl").string(), "--model", "rules", "--log-format", "json",
         "--actions-dir", (tmp / "actions").string(), "--events-dir", (tmp / "events").string(),
         "--state-dir", (tmp / "state").string()});
    REQUIRE(run.wait(60s) == 0);
    INFO(run.stderr_text());
    CHECK(run.count_log("silences_unreadable") == 1);
    for (const auto& line : run.log_lines()) {
        if (line["event"] != "silences_unreadable") continue;
        CHECK(line["level"] == "warn");
        CHECK(line["path"] == (tmp / "state" / "silences.json").string());
        CHECK(line["kept_silences"] == 0);
    }
    CHECK(files_under(tmp / "actions").size() == 1);  // planned: no silence is in force
    CHECK(run.log_lines().back()["skipped"]["silenced"] == 0);
}

#endif  // PLANNER_RUN_PATH
