#pragma once

/// \file
/// planner-ctl: list, show, approve, reject, start, finish and history over the actions
/// directory, every change through planner::ActionStore (locked, audited, evented).

#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "program_options.hpp"

namespace planner::ctl {

inline constexpr int kExitOk = 0;
/// Not found, conflict, expired, or an I/O failure: one line on stderr says which.
inline constexpr int kExitRefused = 1;
inline constexpr int kExitUsage = 2;

/// What run_ctl reads besides its arguments; tests inject both.
struct CtlEnvironment {
    programs::EnvLookup env = programs::process_env;
    /// Read when neither --config nor PLANNER_CONFIG names a file, if it exists.
    std::filesystem::path default_config{programs::kDefaultConfigFile};
};

/// Runs one command; `args` without the program name. Never throws.
int run_ctl(const std::vector<std::string>& args, std::FILE* out, std::FILE* err);
int run_ctl(const std::vector<std::string>& args, std::FILE* out, std::FILE* err,
            const CtlEnvironment& environment);

}  // namespace planner::ctl
