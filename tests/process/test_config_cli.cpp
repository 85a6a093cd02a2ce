// planner-run and its configuration file: precedence (the parser called directly), and
// --check-config, --print-config and SIGHUP reloads through a real planner-run process.

#ifdef PLANNER_RUN_PATH

#include <sys/stat.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <map>

#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "config_options.hpp"
#include "run_options.hpp"
#include "support/cli_env.hpp"
#include "support/planner_run_process.hpp"
#include "support/process.hpp"
#include "support/provider_server.hpp"
#include "support/redis_server.hpp"
#include "support/temp_dir.hpp"

using namespace planner;
using namespace planner::cli;
using namespace planner::testing;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

/// One `service_unhealthy` event for k3s-a/`service`, received by the planner.
void publish_unhealthy(const RedisServer& redis, const std::string& service) {
    REQUIRE(redis.publish("health_events", nlohmann::json{{"type", "service_unhealthy"},
                                                          {"node", "k3s-a"},
                                                          {"service", service}}
                                               .dump()) == 1);
}

/// Parses, then applies the configuration, as main() does.
RunOptions effective(std::vector<std::string> args, std::map<std::string, std::string> env = {}) {
    auto p = parse(std::move(args), std::move(env));
    REQUIRE(p.command != Command::error);
    const auto errors = apply_config(p.options);
    for (const auto& e : errors) FAIL(e);
    return p.options;
}

}  // namespace

TEST_CASE("flag > variable > file > built-in default", "[config-cli]") {
    TempDir tmp;
    const auto file = tmp / "planner.yaml";
    write_text(file,
               "node: from-file\nworkers: 2\ncooldown: 1m\nchannels: [file_channel]\n"
               "models:\n  - spec: rules\n");

    const auto builtin = effective({});
    CHECK(builtin.sources.at("rules") == "default");
    CHECK(builtin.rules.human_only_node_patterns == std::vector<std::string>{"chelsty*"});
    CHECK(builtin.topology.nodes.size() == 4);
    CHECK(builtin.workers == 1);

    const auto from_file = effective({"--config", file.string()});
    CHECK(from_file.node == "from-file");
    CHECK(from_file.workers == 2);
    CHECK(from_file.cooldown == 60s);
    CHECK(from_file.channels == std::vector<std::string>{"file_channel"});
    CHECK(from_file.models == std::vector<std::string>{"rules"});
    CHECK(from_file.sources.at("workers") == "file");
    CHECK(from_file.topology.nodes.empty());  // the file has no topology: none, not piha's
    CHECK(from_file.rules.human_only_node_patterns.empty());

    const auto variable = effective({}, {{"PLANNER_CONFIG", file.string()},
                                         {"PLANNER_WORKERS", "3"},
                                         {"NODE_NAME", "from-variable"}});
    CHECK(variable.workers == 3);
    CHECK(variable.node == "from-variable");
    CHECK(variable.sources.at("workers") == "variable");
    CHECK(variable.cooldown == 60s);  // still the file's

    const auto flag =
        effective({"--config", file.string(), "--workers", "4"}, {{"PLANNER_WORKERS", "3"}});
    CHECK(flag.workers == 4);
    CHECK(flag.sources.at("workers") == "flag");
}

TEST_CASE("print_config gives YAML that --config accepts, sourced and redacted", "[config-cli]") {
    TempDir tmp;
    const auto file = tmp / "planner.yaml";
    write_text(file,
               "workers: 2\nredis: redis://:hunter2@redis.lan:6379/0\n"
               "topology:\n  nodes:\n    a:\n      description: box\n      services:\n"
               "        x: {allowed_actions: [notify]}\n        y: {depends_on: [x]}\n");
    const auto o = effective({"--config", file.string(), "--node", "n1"});
    const std::string yaml = print_config(o);
    CHECK(yaml.find("hunter2") == std::string::npos);
    CHECK_THAT(yaml, Catch::Contains("workers: 2  # file"));
    CHECK_THAT(yaml, Catch::Contains("node: \"n1\"  # flag"));
    CHECK_THAT(yaml, Catch::Contains("cooldown: 300s  # default"));
    const auto again = parse_config(yaml, "printed");
    if (!again.ok()) {
        for (const auto& e : again.errors()) FAIL(e.to_string());
    }
    CHECK(again.config().rules->allowed_actions.at("a/x") == std::vector<std::string>{"notify"});
}

TEST_CASE("planner-run --check-config: a summary and 0, or every error and 2", "[config-cli]") {
    TempDir tmp;
    for (const char* name : {"planner.yaml", "planner-one-pi.yaml", "planner-three-nodes.yaml"}) {
        PlannerRunProcess ok(
            kPlannerRun, tmp,
            {"--check-config", "--config", std::string(PLANNER_SOURCE_DIR "/examples/") + name}, {},
            "ok");
        INFO(name);
        REQUIRE(ok.wait(20s) == 0);
        CHECK_THAT(ok.stdout_text(), Catch::Contains(": valid: "));
    }
    const auto bad = tmp / "bad.yaml";
    write_text(bad, "cooldwn: 5m\nworkers: many\nmodels:\n  - spec: olama/x\n");
    PlannerRunProcess run(kPlannerRun, tmp, {"--check-config", "--config", bad.string()}, {},
                          "bad");
    REQUIRE(run.wait(20s) == 2);
    const auto lines = split_lines(run.stderr_text());
    REQUIRE(lines.size() == 3);
    CHECK(lines[0] == bad.string() +
                          ":1:1: cooldwn: unknown key 'cooldwn'; did you mean "
                          "'cooldown'?");
    CHECK(lines[1] == bad.string() +
                          ":2:10: workers: expected a whole number, found the text "
                          "'many'");
    CHECK_THAT(lines[2], Catch::StartsWith(bad.string() + ":4:11: models[0].spec: "));
}

TEST_CASE("planner-run refuses hostile configuration files with one line and exit 2",
          "[config-cli]") {
    TempDir tmp;
    const auto fifo = tmp / "fifo";
    REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
    const auto big = tmp / "big.yaml";
    write_text(big, std::string(10 * 1024 * 1024, '#'));
    const auto bomb = tmp / "bomb.yaml";
    std::string text = "a: &a [x, x, x, x, x, x, x, x, x, x]\n";
    for (char c = 'b', prev = 'a'; c <= 'j'; prev = c, ++c) {
        text += std::string(1, c) + ": &" + c + " [" + std::string(9, ' ');
        for (int i = 0; i < 10; ++i) text += std::string(i ? ", *" : "*") + prev;
        text += "]\n";
    }
    write_text(bomb, text);
    const auto bad_utf8 = tmp / "utf8.yaml";
    write_text(bad_utf8, "node: \xff\n");
    std::vector<std::pair<fs::path, std::string>> cases = {
        {tmp.path(), "is a directory"},      {fifo, "not a regular file"},
        {big, "a configuration is at most"}, {bomb, "alias bomb"},
        {bad_utf8, ":1:7: not valid UTF-8"}, {tmp / "missing.yaml", "No such file"},
    };
    for (const auto& [path, reason] : cases) {
        INFO(path);
        for (const char* mode : {"--check-config", "--dry-run"}) {
            PlannerRunProcess run(kPlannerRun, tmp, {mode, "--config", path.string()}, {},
                                  "hostile");
            REQUIRE(run.wait(20s) == 2);
            const auto lines = split_lines(run.stderr_text());
            REQUIRE(lines.size() == 1);
            CHECK_THAT(lines[0], Catch::Contains(reason));
        }
    }
}

TEST_CASE("SIGHUP reloads the rules between events and a bad file keeps the old ones",
          "[config-cli][redis]") {
    TempDir tmp;
    RedisServer redis;
    const auto file = tmp / "planner.yaml";
    const std::string topology =
        "topology:\n  nodes:\n    k3s-a:\n      description: k3s server\n      services:\n"
        "        traefik: {}\n        web: {}\n        vaultwarden: {depends_on: [traefik]}\n";
    write_text(file, "events_dir: " + (tmp / "events").string() + "\n" + topology);
    PlannerRunProcess run(
        kPlannerRun, tmp,
        {"--config", file.string(), "--redis", redis.url(), "--model", "rules", "--dry-run"});
    REQUIRE(eventually([&] { return redis.subscribers("health_events") == 1; }));
    const auto publish = [&](const std::string& service) { publish_unhealthy(redis, service); };
    const auto proposals = [&] {
        std::vector<nlohmann::json> out;
        for (const auto& l : split_lines(run.stdout_text())) {
            if (!l.empty()) out.push_back(nlohmann::json::parse(l));
        }
        return out;
    };
    publish("vaultwarden");
    REQUIRE(eventually([&] { return proposals().size() == 1; }));
    CHECK(proposals()[0]["payload"]["action"] == "restart");

    // Valid: vaultwarden and web are restricted now; the events directory needs a restart.
    write_text(file, "events_dir: " + (tmp / "elsewhere").string() + "\n" + topology +
                         "        web: {allowed_actions: [ignore]}\n"
                         "rules:\n  human_only_services: [\"*/traefik\"]\n");
    // The duplicate `web` key above is an error: the first reload must fail.
    run.process().signal(SIGHUP);
    REQUIRE(eventually([&] { return run.count_log("config_reload_failed") == 1; }));
    CHECK(run.count_log("config_reload_failed", "reload_failures", 1) == 1);
    publish("web");
    REQUIRE(eventually([&] { return proposals().size() == 2; }));
    CHECK(proposals()[1]["payload"]["action"] == "restart");  // the old rules

    write_text(file, "events_dir: " + (tmp / "elsewhere").string() + "\n" +
                         "topology:\n  nodes:\n    k3s-a:\n      description: k3s server\n"
                         "      services:\n        traefik: {}\n"
                         "        web: {allowed_actions: [ignore]}\n"
                         "        vaultwarden: {depends_on: [traefik]}\n"
                         "        db: {allowed_actions: [notify, redeploy]}\n"
                         "rules:\n  human_only_services: [\"*/traefik\"]\n");
    run.process().signal(SIGHUP);
    REQUIRE(eventually([&] { return run.count_log("config_reloaded") == 1; }));
    CHECK(run.count_log("config_needs_restart", "setting", "events_dir") == 1);
    // The cooldown recorded before the reload survives it.
    publish("vaultwarden");
    publish("db");
    REQUIRE(eventually([&] { return proposals().size() == 3; }));
    const auto db = proposals()[2];
    CHECK(db["service"] == "db");
    CHECK(db["payload"]["action"] == "notify");  // the rules said restart; the file says no
    CHECK(db["type"] == "notify");
    run.process().signal(SIGTERM);
    REQUIRE(run.wait(20s) == 0);
    const auto lines = run.log_lines();
    REQUIRE_FALSE(lines.empty());
    const auto& summary = lines.back();
    CHECK(summary["event"] == "planner_stopped");
    CHECK(summary["config_reloads"] == 1);
    CHECK(summary["config_reload_failures"] == 1);
    CHECK(summary["skipped"]["cooldown"] == 1);
    bool corrected = false;
    for (const auto& l : lines) {
        if (l.value("event", "") != "proposal_written" || l.value("key", "") != "k3s-a/db")
            continue;
        for (const auto& c : l["policy_corrections"]) {
            corrected = corrected || c.get<std::string>().find("allows only notify, redeploy") !=
                                         std::string::npos;
        }
    }
    CHECK(corrected);
}

#endif  // PLANNER_RUN_PATH

TEST_CASE("SIGHUP applies a new cooldown, node name and model chain without a restart",
          "[config-cli][redis]") {
    TempDir tmp;
    RedisServer redis;
    const auto file = tmp / "planner.yaml";
    const std::string topology =
        "topology:\n  nodes:\n    k3s-a:\n      services:\n        web: {}\n        db: {}\n";
    write_text(file, "node: before\ncooldown: 300\nmodels:\n  - spec: rules\n" + topology);
    PlannerRunProcess run(
        kPlannerRun, tmp,
        {"--config", file.string(), "--redis", redis.url(), "--dry-run", "--log-level", "debug"});
    REQUIRE(eventually([&] { return redis.subscribers("health_events") == 1; }));
    const auto publish = [&](const std::string& service) { publish_unhealthy(redis, service); };
    const auto planned = [&] { return run.count_log("proposal_written"); };
    publish("web");
    REQUIRE(eventually([&] { return planned() == 1; }));
    publish("web");  // within 300 s: held back
    REQUIRE(eventually([&] { return run.count_log("skip_cooldown") == 1; }));

    // A dead Ollama first: the new chain shows in the fallback's failed attempts.
    const std::string dead = "ollama/qwen2.5:7b@http://127.0.0.1:" + std::to_string(closed_port());
    write_text(file, "node: after\ncooldown: 1ms\nmodels:\n  - spec: \"" + dead +
                         "\"\n  - spec: rules\n" + topology);
    run.process().signal(SIGHUP);
    REQUIRE(eventually([&] { return run.count_log("config_reloaded") == 1; }));
    CHECK(run.count_log("config_reloaded", "node", "after") == 1);
    CHECK(run.count_log("config_needs_restart") == 0);

    publish("web");  // recorded before the reload, long more than 1 ms ago
    REQUIRE(eventually([&] { return planned() == 2; }));
    std::vector<nlohmann::json> written;
    for (const auto& l : run.log_lines()) {
        if (l.value("event", "") == "proposal_written") written.push_back(l);
    }
    REQUIRE(written.size() == 2);
    CHECK_FALSE(written[0].contains("failed_attempts"));
    REQUIRE(written[1].contains("failed_attempts"));
    CHECK(written[1]["failed_attempts"][0]["model"] == dead);
    CHECK(written[1]["model"] == "rules");

    // A key file that cannot be read fails the whole reload: the node and chain stay.
    write_text(file, "node: third\nmodels:\n  - spec: \"openai/gpt-4o-mini\"\n    key_file: " +
                         (tmp / "missing.key").string() + "\n" + topology);
    run.process().signal(SIGHUP);
    REQUIRE(eventually([&] { return run.count_log("config_reload_failed") == 1; }));
    CHECK_THAT(run.stderr_text(), Catch::Contains("missing.key"));
    publish("db");
    REQUIRE(eventually([&] { return planned() == 3; }));
    CHECK(run.log_lines().back().value("event", "") == "proposal_written");
    CHECK(run.log_lines().back()["failed_attempts"][0]["model"] == dead);
    CHECK(run.count_log("config_reloaded") == 1);
    run.process().signal(SIGTERM);
    REQUIRE(run.wait(20s) == 0);
}
