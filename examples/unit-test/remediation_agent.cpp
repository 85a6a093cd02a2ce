#include "remediation_agent.hpp"

#include <exception>
#include <string>
#include <utility>

namespace homelab {

RemediationAgent::RemediationAgent(planner::LLMRouter& router, planner::ActionSink& actions,
                                   planner::LogSink& log, AgentOptions options,
                                   planner::SteadyTimeSource steady, planner::WallTimeSource wall)
    : router_(router),
      actions_(actions),
      log_(log),
      options_(std::move(options)),
      cooldown_(options_.cooldown, std::move(steady)),
      wall_(std::move(wall)) {}

Outcome RemediationAgent::handle(std::string_view message) {
    using planner::LogLevel;
    const auto raw = nlohmann::json::parse(message, nullptr, /*allow_exceptions=*/false);
    const auto event = planner::parse_event(raw, "health_events");
    if (!event) {
        log_.log(LogLevel::warn, "not_an_event", {{"bytes", message.size()}});
        return Outcome::not_an_event;
    }
    const std::string key = event->svc_key();
    if (planner::is_benign_event_type(event->event_type)) {
        log_.log(LogLevel::debug, "skip_benign", {{"key", key}});
        return Outcome::benign;
    }
    if (!cooldown_.is_ready(key)) {
        log_.log(LogLevel::debug, "skip_cooldown", {{"key", key}});
        return Outcome::cooldown;
    }

    planner::RouteResult result;
    try {
        result = router_.route(
            {planner::build_messages(*event, options_.rules), planner::proposal_schema(), &*event});
    } catch (const std::exception& e) {
        // No cooldown: the next event for this service asks again.
        log_.log(LogLevel::warn, "chain_failed", {{"key", key}, {"error", e.what()}});
        return Outcome::chain_failed;
    }

    auto proposal = planner::make_proposal(*event, result, options_.rules);
    proposal.created_at = wall_();
    proposal.action_id = planner::make_action_id(*event, proposal.created_at, ++sequence_);
    const nlohmann::json summary = {{"key", key},
                                    {"action_id", proposal.action_id},
                                    {"action", proposal.action},
                                    {"requires_human", proposal.requires_human},
                                    {"policy_corrections", proposal.policy_corrections}};
    if (proposal.action == "ignore") {
        cooldown_.record(key);
        log_.log(LogLevel::info, "proposal_ignored", summary);
        return Outcome::ignored;
    }
    try {
        actions_.write(proposal);
    } catch (const std::exception& e) {
        auto fields = summary;
        fields["error"] = e.what();
        log_.log(LogLevel::error, "write_failed", fields);
        return Outcome::write_failed;
    }
    cooldown_.record(key);
    log_.log(LogLevel::info, "proposal_written", summary);
    return Outcome::proposed;
}

}  // namespace homelab
