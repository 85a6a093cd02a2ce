#pragma once

/// \file
/// Feeding recorded bus traffic to an agent, one line at a time (`planner-run --replay`).

#include <optional>
#include <string_view>

#include "planner/agent.hpp"

namespace planner {

/// One replay line: an event object (`{"node": ...}`, either wire shape), or a recorded pub/sub
/// message `{"channel": ..., "data": "<event JSON>"}`. Blank lines and `#` comments are skipped
/// (nullopt); anything else goes through the agent's intake, which rejects and explains.
std::optional<IntakeResult> replay_line(PlannerAgent& agent, std::string_view line);

}  // namespace planner
