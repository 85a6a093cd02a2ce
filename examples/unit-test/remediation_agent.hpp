#pragma once

// An embedder's agent: one health-event message in, at most one pending action out. It uses
// only planner::core (parse, benign skip, cooldown, prompt, house rules) and takes its model,
// its action queue and its log as interfaces, so a unit test injects planner::testing fakes.

#include <chrono>
#include <cstdint>
#include <string_view>

#include <planner/core.hpp>

namespace homelab {

struct AgentOptions {
    planner::HouseRules rules;  ///< chelsty* needs a human, disk_pressure is notify-only
    std::chrono::seconds cooldown{300};
};

enum class Outcome {
    not_an_event,
    benign,
    cooldown,
    proposed,
    ignored,
    chain_failed,
    write_failed
};

/// Not thread-safe: one message at a time, as this agent's single subscriber delivers them.
class RemediationAgent {
  public:
    RemediationAgent(planner::LLMRouter& router, planner::ActionSink& actions,
                     planner::LogSink& log, AgentOptions options = {},
                     planner::SteadyTimeSource steady = std::chrono::steady_clock::now,
                     planner::WallTimeSource wall = std::chrono::system_clock::now);

    /// Decides on one message (a health event as JSON text) and writes its proposal.
    Outcome handle(std::string_view message);

  private:
    planner::LLMRouter& router_;
    planner::ActionSink& actions_;
    planner::LogSink& log_;
    AgentOptions options_;
    planner::CooldownTracker cooldown_;
    planner::WallTimeSource wall_;
    std::uint64_t sequence_ = 0;
};

}  // namespace homelab
