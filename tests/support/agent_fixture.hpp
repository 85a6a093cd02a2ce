#pragma once

/// A PlannerAgent wired to fakes: the seed suite's `_agent(result)`, without patching globals.

#include <planner/agent.hpp>
#include <planner/agent_testing.hpp>
#include <planner/testing.hpp>

#include "support/gate.hpp"

namespace planner::testing {

struct AgentFixture {
    explicit AgentFixture(FakeRouter::Responder respond, PlannerAgentOptions options = {})
        : router(std::move(respond)),
          agent(std::move(options), {.router = router,
                                     .actions = actions,
                                     .events = events,
                                     .log = log,
                                     .steady = clock.steady_source(),
                                     .wall = clock.wall_source()}) {}

    explicit AgentFixture(RouteResult result, PlannerAgentOptions options = {})
        : AgentFixture([result](const std::vector<ChatMessage>&) { return result; },
                       std::move(options)) {}

    ManualClock clock;
    FakeRouter router;
    RecordingActionSink actions;
    RecordingEventSink events;
    RecordingLogSink log;
    PlannerAgent agent;
};

/// A responder that fails like a chain where every model is down.
inline FakeRouter::Responder failing_router() {
    return [](const std::vector<ChatMessage>&) -> RouteResult {
        throw RouteError(
            "all models failed",
            {AttemptRecord{"ollama/qwen2.5:7b", AttemptStatus::error, "connection refused", 1.0}});
    };
}

/// The seed's `_dispatch` message body for a valid shape-A event.
inline std::string event_json(const std::string& node = "piha",
                              const std::string& service = "mosquitto",
                              const std::string& type = "service_unhealthy") {
    return nlohmann::json{
        {"type", type}, {"node", node}, {"service", service}, {"severity", "error"}}
        .dump();
}

}  // namespace planner::testing
