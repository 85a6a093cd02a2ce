#pragma once

/// planner-ctl as a child process: arguments, a clean environment (none of the developer's
/// directory variables), exit code, stdout and stderr.

#include <chrono>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "support/process.hpp"
#include "support/temp_dir.hpp"

namespace planner::testing {

struct CtlResult {
    int code = -1;
    std::string out;
    std::string err;
};

/// Runs `argv` (the planner-ctl binary first) with `env` set on a clean environment; its
/// output goes through `out.txt` and `err.txt` in `dir`.
inline CtlResult run_ctl_process(std::vector<std::string> argv, const std::filesystem::path& dir,
                                 std::vector<std::pair<std::string, std::string>> env = {}) {
    Process p(ProcessOptions{
        .argv = std::move(argv),
        .env = std::move(env),
        .unset_env = {"ACTIONS_DIR", "EVENTS_DIR", "PLANNER_STATE_DIR", "NODE_NAME",
                      "PLANNER_CONFIG", "REDIS_URL", "PLANNER_INTAKE", "PLANNER_STREAM_GROUP"},
        .stdout_stream = dir / "out.txt",
        .stderr_stream = dir / "err.txt"});
    CtlResult r;
    r.code = p.wait(std::chrono::seconds{30}).value_or(-1);
    r.out = read_text(dir / "out.txt");
    r.err = read_text(dir / "err.txt");
    return r;
}

}  // namespace planner::testing
