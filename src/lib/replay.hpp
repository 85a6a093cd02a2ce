#pragma once

/// \file
/// Feeding recorded bus traffic to an agent, one line at a time (`planner-run --replay`).

#include <functional>
#include <optional>
#include <string_view>

#include "planner/agent.hpp"
#include "planner/event_clock.hpp"
#include "planner/log_sink.hpp"

namespace planner {

/// One replay line: an event object (`{"node": ...}`, either wire shape), or a recorded pub/sub
/// message `{"channel": ..., "data": "<event JSON>"}`. Blank lines and `#` comments are skipped
/// (nullopt); anything else goes through the agent's intake, which rejects and explains (a
/// recorded message whose `data` is not a string through PlannerAgent::refuse).
std::optional<IntakeResult> replay_line(PlannerAgent& agent, std::string_view line);

/// The same in event time (`--clock event`): `clock` (the agent's time sources) moves to the
/// line's event time first (event_time_of), and the agent is waited for until idle, so the
/// event is planned at its own time and the next one sees its cooldown, budget and incident.
/// A line without a readable time, or older than the last, keeps the last time and logs one
/// warning line `event_time_kept` naming why (`missing` or `backwards`) and the line number.
/// `at_event_time`, when given, runs once the clock has moved and before the line is
/// dispatched: what would have happened by then that day (planner-run sweeps expired proposals
/// there). The agent must be started.
std::optional<IntakeResult> replay_line_in_event_time(
    PlannerAgent& agent, EventClock& clock, std::string_view line, std::size_t line_no,
    LogSink& log, const std::function<void()>& at_event_time = {});

}  // namespace planner
