#pragma once

/// \file
/// Reading `--replay` input line by line without blocking a stop request.

#include <cstddef>
#include <functional>
#include <string_view>

#include "signals.hpp"

namespace planner::cli {

/// Calls `on_line` for each line of `fd`; waits with poll so a stop request interrupts a read
/// from an idle pipe. A line longer than `max_line` is passed cut to `max_line + 1` bytes, which
/// the agent rejects by size, instead of being held in memory whole.
void for_each_line(int fd, const StopSignal& stop, std::size_t max_line,
                   const std::function<void(std::string_view)>& on_line);

}  // namespace planner::cli
