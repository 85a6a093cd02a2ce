#pragma once

/// What the tests of planner-run's HTTP listener share: the arguments that give a child its own
/// Redis, directories and a listener on a free port, and the port it then logged.

#include <filesystem>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "support/planner_run_process.hpp"
#include "support/process.hpp"
#include "support/redis_server.hpp"
#include "support/temp_dir.hpp"

namespace planner::testing {

/// `--config config`, the directories under `tmp`, `--http-listen 127.0.0.1:0`, then `extra`.
inline std::vector<std::string> listening_planner_args(const TempDir& tmp, const RedisServer& redis,
                                                       const std::filesystem::path& config,
                                                       const std::vector<std::string>& extra = {}) {
    std::vector<std::string> a = {"--config",      config.string(),
                                  "--redis",       redis.url(),
                                  "--actions-dir", (tmp / "actions").string(),
                                  "--events-dir",  (tmp / "events").string(),
                                  "--state-dir",   (tmp / "state").string(),
                                  "--node",        "test",
                                  "--http-listen", "127.0.0.1:0",
                                  "--log-level",   "debug"};
    a.insert(a.end(), extra.begin(), extra.end());
    return a;
}

/// Waits for the `http_listening` line and returns its port (the listener binds port 0).
inline int logged_http_port(const PlannerRunProcess& run) {
    REQUIRE(eventually([&] { return run.count_log("http_listening") == 1; }));
    int port = 0;
    for (const auto& l : run.log_lines()) {
        if (l.value("event", "") == "http_listening") port = l["port"].get<int>();
    }
    REQUIRE(port > 0);
    return port;
}

}  // namespace planner::testing
