#pragma once

/// \file
/// For tests of a PlannerAgent (planner::planner, opt-in like `<planner/testing.hpp>`): run
/// one event through the pipeline on the calling thread and get how it ended.

#include "planner/agent.hpp"
#include "planner/health_event.hpp"

namespace planner::testing {

/// The one door to PlannerAgent's synchronous path; use handle_event() below.
struct AgentAccess {
    static HandleResult handle_event(PlannerAgent& agent, const HealthEvent& event) {
        return agent.handle_event(event);
    }
};

/// The seed's `PlannerAgent._handle_event`: screening (benign, silenced, inhibited, cooldown,
/// a pending proposal), then route → house rules → write → emit → cooldown, all on this thread
/// and finished on return, what screening decided to record included. No queue, no
/// coalescing, no start() needed: a test asserts on the files and sinks right after. Intake
/// (dispatch_text, submit) takes the same steps through the queue.
inline HandleResult handle_event(PlannerAgent& agent, const HealthEvent& event) {
    return AgentAccess::handle_event(agent, event);
}

}  // namespace planner::testing
