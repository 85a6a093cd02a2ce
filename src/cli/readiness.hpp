#pragma once

/// \file
/// What `GET /readyz` checks beyond intake: that the planner can write what it decides.

#include <optional>
#include <string>

#include "run_options.hpp"

namespace planner::cli {

/// Nullopt when the actions, events and state directories are writable by this process (the
/// state directory, created on the first decision, by its parent until then); else one line
/// naming the first that is not. In a dry run nothing is written, so nothing is checked.
std::optional<std::string> unwritable_output(const RunOptions& o);

}  // namespace planner::cli
