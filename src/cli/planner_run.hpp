#pragma once

/// \file
/// What planner-run does once its options are parsed.

#include <chrono>
#include <cstdio>
#include <filesystem>

#include "run_options.hpp"

namespace planner::cli {

/// Exit statuses.
inline constexpr int kExitOk = 0;
inline constexpr int kExitUnhealthy = 1;
inline constexpr int kExitUsage = 2;

/// `--healthcheck`: 0 when `heartbeat` was modified less than `max_age` before `now`, else 1.
int check_heartbeat(const std::filesystem::path& heartbeat, std::chrono::milliseconds max_age,
                    std::chrono::system_clock::time_point now = std::chrono::system_clock::now());

/// Runs the planner until SIGINT/SIGTERM (or the end of --replay). Expects SIGINT and SIGTERM to
/// be blocked in every thread (main does that first), so a dedicated thread takes them with
/// sigtimedwait and no work happens in a signal handler. Logs to `err`; dry-run proposals go
/// to `out`.
int run_planner(const RunOptions& options, std::FILE* out, std::FILE* err);

}  // namespace planner::cli
