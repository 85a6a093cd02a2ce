#pragma once

/// \file
/// planner-ctl: list, show, approve, reject, start, finish and history over the actions
/// directory, every change through planner::ActionStore (locked, audited, evented).

#include <cstdio>
#include <string>
#include <vector>

namespace planner::ctl {

inline constexpr int kExitOk = 0;
/// Not found, conflict, expired, or an I/O failure: one line on stderr says which.
inline constexpr int kExitRefused = 1;
inline constexpr int kExitUsage = 2;

/// Runs one command; `args` without the program name. Never throws.
int run_ctl(const std::vector<std::string>& args, std::FILE* out, std::FILE* err);

}  // namespace planner::ctl
