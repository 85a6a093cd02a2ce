// planner-run as users run it: a subprocess, with real files, a real redis-server and, for
// SIGTERM with work in flight, a scripted model server that holds one answer back.

#ifdef PLANNER_RUN_PATH

#include <algorithm>
#include <chrono>

#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include <planner/detail/time.hpp>

#include "support/planner_run_process.hpp"
#include "support/process.hpp"
#include "support/provider_server.hpp"
#include "support/redis_server.hpp"
#include "support/temp_dir.hpp"
#include "support/wire_formats.hpp"

using namespace planner::testing;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

const std::string kSampleEvents =
    R"({"type":"service_unhealthy","node":"piha","service":"mosquitto","severity":"error"})"
    "\n"
    R"({"type":"disk_pressure","node":"solaria","service":"data"})"
    "\n"
    R"({"channel":"world_updates","data":"{\"event_type\":\"service_down\",\"node\":\"chelsty-infra\",\"service\":\"nginx\"}"})"
    "\n"
    R"({"type":"service_healthy","node":"piha","service":"mosquitto"})"
    "\n"
    "{broken\n";

/// planner-run with `args`, stdout/stderr captured in `tmp`.
struct Run {
    Run(const TempDir& tmp, std::vector<std::string> args, fs::path stdin_file = {},
        std::vector<std::pair<std::string, std::string>> env = {})
        : out(tmp / "stdout"), err(tmp / "stderr") {
        args.insert(args.begin(), kPlannerRun);
        process = std::make_unique<Process>(ProcessOptions{.argv = std::move(args),
                                                           .env = std::move(env),
                                                           .unset_env = kPlannerRunUnset,
                                                           .stdin_stream = stdin_file,
                                                           .stdout_stream = out,
                                                           .stderr_stream = err});
    }
    std::optional<int> wait(std::chrono::milliseconds t = 60s) { return process->wait(t); }
    std::string stdout_text() const { return read_text(out); }
    std::vector<std::string> stderr_lines() const { return split_lines(read_text(err)); }

    fs::path out;
    fs::path err;
    std::unique_ptr<Process> process;
};

}  // namespace

TEST_CASE("planner-run --version and --help", "[planner-run]") {
    TempDir tmp;
    Run version(tmp, {"--version"});
    REQUIRE(version.wait() == 0);
    CHECK(version.stdout_text() == "planner-run 0.1.0\n");
    Run help(tmp, {"--help"});
    REQUIRE(help.wait() == 0);
    CHECK(help.stdout_text().find("--dry-run") != std::string::npos);
}

TEST_CASE("planner-run refuses bad configuration with exit 2 and one line", "[planner-run]") {
    TempDir tmp;
    std::fclose(std::fopen((tmp / "a-file").c_str(), "w"));
    const std::vector<std::vector<std::string>> cases = {
        {"--bogus"},
        {"--redis", "redis://:secret@host:xx"},
        {"--model", "ollama/"},
        {"--actions-dir", (tmp / "a-file").string(), "--events-dir", (tmp / "e").string()},
        {"--replay", (tmp / "missing.jsonl").string(), "--dry-run"},
    };
    for (const auto& args : cases) {
        Run run(tmp, args);
        INFO(args.front());
        REQUIRE(run.wait() == 2);
        const auto lines = run.stderr_lines();
        REQUIRE(lines.size() == 1);
        CHECK(lines[0].starts_with("planner-run: "));
        CHECK(lines[0].find("secret") == std::string::npos);
    }
}

TEST_CASE("planner-run --replay writes proposals and events, then exits", "[planner-run]") {
    TempDir tmp;
    std::FILE* f = std::fopen((tmp / "events.jsonl").c_str(), "w");
    std::fputs(kSampleEvents.c_str(), f);
    std::fclose(f);
    Run run(tmp, {"--replay", (tmp / "events.jsonl").string(), "--model", "rules", "--node",
                  "solaria", "--actions-dir", (tmp / "actions").string(), "--events-dir",
                  (tmp / "events").string()});
    REQUIRE(run.wait() == 0);
    const auto actions = files_under(tmp / "actions");
    REQUIRE(actions.size() == 3);
    for (const auto& a : actions) {
        const auto j = nlohmann::json::parse(read_text(a));
        CHECK(j["llm_model"] == "rules");
        CHECK(a.filename().string() == j["action_id"].get<std::string>() + ".json");
    }
    const auto events = files_under(tmp / "events");
    REQUIRE(events.size() == 3);
    for (const auto& e : events) CHECK(e.parent_path().filename() == "solaria");

    const auto lines = run.stderr_lines();
    REQUIRE_FALSE(lines.empty());
    const auto summary = nlohmann::json::parse(lines.back());
    CHECK(summary["event"] == "planner_stopped");
    CHECK(summary["received"]["replay"] == 4);
    CHECK(summary["received"]["world_updates"] == 1);
    CHECK(summary["skipped"]["benign"] == 1);
    CHECK(summary["skipped"]["malformed"] == 1);
    CHECK(summary["routed"] == 3);
    CHECK(summary["proposals"]["notify"] == 1);
    CHECK(summary["proposals"]["restart"] == 2);
}

TEST_CASE("planner-run --dry-run prints one JSON line per proposal and writes nothing",
          "[planner-run]") {
    TempDir tmp;
    std::FILE* f = std::fopen((tmp / "events.jsonl").c_str(), "w");
    std::fputs(kSampleEvents.c_str(), f);
    std::fclose(f);
    // Replay from stdin, with directories that must stay uncreated.
    Run run(tmp,
            {"--replay", "-", "--dry-run", "--model", "rules", "--actions-dir",
             (tmp / "actions").string(), "--events-dir", (tmp / "events").string(), "--heartbeat",
             (tmp / "hb").string()},
            tmp / "events.jsonl");
    REQUIRE(run.wait() == 0);
    const auto out = split_lines(run.stdout_text());
    REQUIRE(out.size() == 3);
    for (const auto& line : out) {
        const auto j = nlohmann::json::parse(line);
        CHECK(j["status"] == "pending");
    }
    CHECK(nlohmann::json::parse(out[2])["node"] == "chelsty-infra");
    CHECK(nlohmann::json::parse(out[2])["requires_human"] == true);
    CHECK_FALSE(fs::exists(tmp / "actions"));
    CHECK_FALSE(fs::exists(tmp / "events"));
    CHECK_FALSE(fs::exists(tmp / "hb"));
}

TEST_CASE("planner-run --replay exits as soon as its work is done", "[planner-run]") {
    // The signal thread waits in 200 ms ticks; at exit it is woken instead of waited for. Before,
    // every run lasted at least until the next tick after `planner_stopped`, so even the fastest
    // of five runs did; the fastest, because load on the machine only ever makes a run slower.
    // Measured from that line, not from the start: loading the program's libraries (slow under
    // ThreadSanitizer) is not what this is about.
    TempDir tmp;
    std::vector<double> seconds;
    for (int i = 0; i < 5; ++i) {
        Run run(tmp, {"--replay", "/dev/null", "--dry-run", "--model", "rules"});
        REQUIRE(run.wait() == 0);
        const auto exited = planner::detail::to_epoch_seconds(std::chrono::system_clock::now());
        std::optional<double> stopped;
        for (const auto& line : run.stderr_lines()) {
            const auto j = nlohmann::json::parse(line, nullptr, false);
            if (j.is_object() && j.value("event", "") == "planner_stopped") {
                stopped = planner::detail::parse_iso8601(j.value("ts", ""));
            }
        }
        REQUIRE(stopped.has_value());
        seconds.push_back(exited - *stopped);
    }
    std::sort(seconds.begin(), seconds.end());
    INFO("fastest " << seconds[0] << " s from planner_stopped to exit");
    CHECK(seconds[0] < 0.15);
}

TEST_CASE("planner-run text logs are one readable line each", "[planner-run]") {
    TempDir tmp;
    std::FILE* f = std::fopen((tmp / "events.jsonl").c_str(), "w");
    std::fputs("{broken\n", f);
    std::fclose(f);
    Run run(tmp, {"--replay", (tmp / "events.jsonl").string(), "--dry-run", "--model", "rules",
                  "--log-format", "text", "--log-level", "debug"});
    REQUIRE(run.wait() == 0);
    const auto lines = run.stderr_lines();
    REQUIRE(lines.size() == 3);
    CHECK(lines[1].find("WARN  skip_malformed") != std::string::npos);
    CHECK(lines[2].find("INFO  planner_stopped") != std::string::npos);
}

TEST_CASE("planner-run keeps its heartbeat while Redis is away and stops on SIGTERM",
          "[planner-run]") {
    TempDir tmp;
    const auto hb = tmp / "run/heartbeat";
    Run run(tmp, {"--redis", "redis://127.0.0.1:" + std::to_string(closed_port()) + "/0", "--model",
                  "rules", "--actions-dir", (tmp / "actions").string(), "--events-dir",
                  (tmp / "events").string(), "--heartbeat", hb.string()});
    REQUIRE(eventually([&] { return fs::exists(hb); }));
    CHECK(eventually([&] {
        for (const auto& l : run.stderr_lines()) {
            if (l.find(R"("state":"disconnected")") != std::string::npos) return true;
        }
        return false;
    }));
    Run check(tmp, {"--healthcheck", "--heartbeat", hb.string(), "--max-age", "60"});
    CHECK(check.wait() == 0);
    Run stale(tmp, {"--healthcheck", "--heartbeat", (tmp / "nope").string()});
    CHECK(stale.wait() == 1);
    run.process->signal(SIGTERM);
    REQUIRE(run.wait() == 0);
    const auto lines = run.stderr_lines();
    REQUIRE_FALSE(lines.empty());
    CHECK(nlohmann::json::parse(lines.back())["event"] == "planner_stopped");
}

TEST_CASE("planner-run SIGTERM with work in flight leaves only complete files",
          "[planner-run][redis]") {
    TempDir tmp;
    RedisServer redis;
    ProviderServer model;
    const auto answer = OllamaWire::answer(valid_proposal().dump());
    model.script({answer, answer, hang()});
    Run run(tmp,
            {"--redis", redis.url(), "--model", "ollama/qwen2.5:7b@" + model.url(), "--llm-timeout",
             "30", "--stop-grace", "0.2", "--actions-dir", (tmp / "actions").string(),
             "--events-dir", (tmp / "events").string(), "--node", "solaria"});
    REQUIRE(eventually([&] { return redis.subscribers("health_events") == 1; }));
    for (const char* svc : {"a", "b", "c", "d"}) {
        REQUIRE(redis.publish("health_events",
                              nlohmann::json{
                                  {"type", "service_unhealthy"}, {"node", "piha"}, {"service", svc}}
                                  .dump()) == 1);
    }
    // Two answered, the third is being planned (the model holds it), the fourth is queued.
    REQUIRE(eventually([&] { return model.requests().size() == 3; }));
    REQUIRE(eventually([&] { return files_under(tmp / "actions").size() == 2; }));
    run.process->signal(SIGTERM);
    REQUIRE(run.wait(20s) == 0);
    model.release();

    const auto actions = files_under(tmp / "actions");
    CHECK(actions.size() == 2);
    for (const auto& f : files_under(tmp.path())) {
        const auto name = f.filename().string();
        INFO(f);
        CHECK_FALSE(name.starts_with(".tmp-"));
        if (f.extension() == ".json") CHECK_NOTHROW(nlohmann::json::parse(read_text(f)));
    }
    const auto lines = run.stderr_lines();
    REQUIRE_FALSE(lines.empty());
    const auto summary = nlohmann::json::parse(lines.back());
    CHECK(summary["event"] == "planner_stopped");
    CHECK(summary["drained"] == false);
    CHECK(summary["abandoned"] == 1);
    CHECK(summary["proposals"]["restart"] == 2);
}

TEST_CASE("planner-run answers an event over Redis through an HTTP model", "[planner-run][redis]") {
    TempDir tmp;
    RedisServer redis;
    ProviderServer model;
    model.script({OllamaWire::answer(valid_proposal().dump())});
    // The default chain's shape: an HTTP model, then the rules.
    Run run(tmp, {"--redis", redis.url(), "--model", "ollama/qwen2.5:7b@" + model.url(), "--model",
                  "rules", "--actions-dir", (tmp / "actions").string(), "--events-dir",
                  (tmp / "events").string(), "--node", "solaria"});
    REQUIRE(eventually([&] { return redis.subscribers("health_events") == 1; }));
    REQUIRE(redis.publish("health_events", R"({"type":"service_unhealthy","node":"piha",
                                               "service":"mosquitto"})") == 1);
    REQUIRE(eventually([&] { return files_under(tmp / "actions").size() == 1; }));
    CHECK(model.requests().size() == 1);  // answered by the model, not the rules
    run.process->signal(SIGTERM);
    REQUIRE(run.wait(20s) == 0);
}

TEST_CASE("planner-run end to end over Redis with the rules provider", "[planner-run][redis]") {
    TempDir tmp;
    RedisServer redis;
    Run run(tmp,
            {"--redis", redis.url(), "--model", "rules", "--actions-dir",
             (tmp / "actions").string(), "--events-dir", (tmp / "events").string()},
            {}, {{"NODE_NAME", "from-env"}});
    REQUIRE(eventually([&] { return redis.subscribers("world_updates") == 1; }));
    REQUIRE(redis.publish("world_updates", R"({"event_type":"container_exited","node":"piha",
                                              "service":"zigbee2mqtt"})") == 1);
    REQUIRE(eventually([&] { return files_under(tmp / "events").size() == 1; }));
    CHECK(files_under(tmp / "events")[0].parent_path().filename() == "from-env");
    run.process->signal(SIGINT);
    REQUIRE(run.wait(20s) == 0);
}

#endif  // PLANNER_RUN_PATH

TEST_CASE("a restarted planner-run does not re-propose what is still pending",
          "[planner-run][pending]") {
    TempDir tmp;
    std::FILE* f = std::fopen((tmp / "events.jsonl").c_str(), "w");
    std::fputs(
        R"({"type":"service_unhealthy","node":"piha","service":"mosquitto","severity":"error"})"
        "\n",
        f);
    std::fclose(f);
    const std::vector<std::string> args = {"--replay",      (tmp / "events.jsonl").string(),
                                           "--model",       "rules",
                                           "--actions-dir", (tmp / "actions").string(),
                                           "--events-dir",  (tmp / "events").string()};
    const std::vector<std::pair<std::string, std::string>> env = {
        {"PLANNER_STATE_DIR", (tmp / "state").string()}};
    {
        Run first(tmp, args, {}, env);
        REQUIRE(first.wait() == 0);
    }
    REQUIRE(files_under(tmp / "actions").size() == 1);
    Run second(tmp, args, {}, env);  // cooldown forgotten, the directory remembers
    REQUIRE(second.wait() == 0);
    const auto actions = files_under(tmp / "actions");
    REQUIRE(actions.size() == 1);
    const auto action = nlohmann::json::parse(read_text(actions[0]));
    CHECK(action["status"] == "pending");
    CHECK(action["occurrences"] == 2);
    CHECK(action.contains("expires_at"));
    const auto summary = nlohmann::json::parse(second.stderr_lines().back());
    CHECK(summary["skipped"]["pending"] == 1);
    CHECK(summary["routed"] == 0);
}
