#pragma once

/// \file
/// What planner-run does once its options are parsed.

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "heartbeat.hpp"
#include "run_options.hpp"

namespace planner::cli {

/// Exit statuses.
inline constexpr int kExitOk = 0;
inline constexpr int kExitUnhealthy = 1;
inline constexpr int kExitUsage = 2;

/// Builds the options again from the same flags and variables and the configuration file as
/// it is now (SIGHUP); returns the file's errors, empty when `options` is usable.
using Reloader = std::function<std::vector<std::string>(RunOptions& options)>;

/// Runs the planner until SIGINT/SIGTERM (or the end of --replay). Expects SIGINT, SIGTERM and
/// SIGHUP to be blocked in every thread (main does that first), so a dedicated thread takes them
/// with sigtimedwait and no work happens in a signal handler. Logs to `err`; dry-run proposals
/// go to `out`. SIGHUP calls `reload` and swaps the house rules and topology between events.
int run_planner(const RunOptions& options, std::FILE* out, std::FILE* err,
                const Reloader& reload = {});

}  // namespace planner::cli
