// planner-run's `notify:` targets: a real planner-run process replaying events, a loopback
// ntfy server hearing about the proposal a human must approve, and no secret in any output.

#ifdef PLANNER_RUN_PATH

#include <catch2/catch.hpp>

#include "support/planner_run_process.hpp"
#include "support/provider_server.hpp"
#include "support/temp_dir.hpp"

using namespace planner::testing;
using namespace std::chrono_literals;

TEST_CASE("planner-run notifies an ntfy target about a proposal that needs a human",
          "[notify-cli]") {
    TempDir tmp;
    ProviderServer ntfy;
    ntfy.respond_with([](const RecordedRequest&) { return ScriptedReply{200, "{}", {}, false}; });
    const std::string topic = "homelab-topic-c4f9e1";
    const std::string token = "tk_notify_secret_77";
    write_text(tmp / "ntfy.token", token + "\n");
    const auto config = tmp / "planner.yaml";
    write_text(config,
               "topology:\n  nodes:\n    piha:\n      services:\n        mosquitto: {}\n"
               "        grafana: {}\n"
               "rules:\n  human_only_services: [\"*/mosquitto\"]\n"
               "models:\n  - spec: rules\n"
               "notify:\n  - type: ntfy\n    url: " +
                   ntfy.url() + "/" + topic + "\n    token_file: " + (tmp / "ntfy.token").string() +
                   "\n");
    // A proposal that needs a human: mosquitto is human-only.
    write_text(
        tmp / "events.jsonl",
        R"({"type":"service_unhealthy","node":"piha","service":"mosquitto","severity":"error"})"
        "\n");
    PlannerRunProcess run(
        PLANNER_RUN_PATH, tmp,
        {"--config", config.string(), "--replay", (tmp / "events.jsonl").string(), "--actions-dir",
         (tmp / "actions").string(), "--events-dir", (tmp / "events").string(), "--state-dir",
         (tmp / "state").string(), "--node", "test"});
    REQUIRE(run.wait(60s) == 0);
    INFO(run.stderr_text());

    // Stored, then told: exactly one POST, no retry.
    CHECK(files_under(tmp / "actions").size() == 1);
    const auto requests = ntfy.requests();
    REQUIRE(requests.size() == 1);
    CHECK(requests[0].path == "/" + topic);
    CHECK_THAT(requests[0].header("Title"), Catch::Contains("mosquitto"));
    CHECK(requests[0].header("Priority") == "4");
    CHECK(requests[0].header("Authorization") == "Bearer " + token);

    const std::string output = run.stdout_text() + run.stderr_text();
    CHECK(output.find(topic) == std::string::npos);
    CHECK(output.find(token) == std::string::npos);
    CHECK(output.find(ntfy.url()) == std::string::npos);
    bool started = false;
    for (const auto& line : run.log_lines()) {
        if (line.value("event", "") == "planner_started") {
            started = true;
            CHECK(line.value("notify_targets", 0) == 1);
        }
    }
    CHECK(started);

    // --print-config shows the token file's path, never the token, the topic or the URL.
    PlannerRunProcess print(PLANNER_RUN_PATH, tmp, {"--config", config.string(), "--print-config"},
                            {}, "print");
    REQUIRE(print.wait(30s) == 0);
    const std::string printed = print.stdout_text() + print.stderr_text();
    CHECK_THAT(printed, Catch::Contains("token_file: \"" + (tmp / "ntfy.token").string()));
    CHECK_THAT(printed, Catch::Contains("url: \"http://127.0.0.1:" + std::to_string(ntfy.port()) +
                                        "/***\""));
    CHECK(printed.find(topic) == std::string::npos);
    CHECK(printed.find(token) == std::string::npos);
}

TEST_CASE("planner-run refuses an unreadable notify token file with one line", "[notify-cli]") {
    TempDir tmp;
    const auto config = tmp / "planner.yaml";
    write_text(config,
               "models:\n  - spec: rules\nnotify:\n  - type: ntfy\n"
               "    url: https://ntfy.example/secret-topic\n    token_file: " +
                   (tmp / "missing.token").string() + "\n");
    write_text(tmp / "events.jsonl", "");
    PlannerRunProcess run(PLANNER_RUN_PATH, tmp,
                          {"--config", config.string(), "--replay", (tmp / "events.jsonl").string(),
                           "--actions-dir", (tmp / "actions").string(), "--events-dir",
                           (tmp / "events").string(), "--state-dir", (tmp / "state").string()});
    CHECK(run.wait(30s) == 2);
    const auto err = run.stderr_text();
    CHECK_THAT(err, Catch::Contains("missing.token"));
    CHECK(err.find("secret-topic") == std::string::npos);
    CHECK(split_lines(err).size() == 1);
}

#endif
