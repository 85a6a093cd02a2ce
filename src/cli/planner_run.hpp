#pragma once

/// \file
/// What planner-run does once its options are parsed.

#include <chrono>
#include <cstdio>
#include <filesystem>

#include "heartbeat.hpp"
#include "run_options.hpp"

namespace planner::cli {

/// Exit statuses.
inline constexpr int kExitOk = 0;
inline constexpr int kExitUnhealthy = 1;
inline constexpr int kExitUsage = 2;

/// Runs the planner until SIGINT/SIGTERM (or the end of --replay). Expects SIGINT and SIGTERM to
/// be blocked in every thread (main does that first), so a dedicated thread takes them with
/// sigtimedwait and no work happens in a signal handler. Logs to `err`; dry-run proposals go
/// to `out`.
int run_planner(const RunOptions& options, std::FILE* out, std::FILE* err);

}  // namespace planner::cli
