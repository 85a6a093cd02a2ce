// Embeds the planner's decision logic in another program, with its own router.
// Build: cmake -S examples/embed -B build-embed -DCMAKE_PREFIX_PATH=<install prefix>

#include <iostream>

#include <planner/planner.hpp>

namespace {

/// A router that always proposes a restart: stands in for a real model chain.
class AlwaysRestart final : public planner::LLMRouter {
  public:
    using LLMRouter::route;  // keep route(messages, schema) visible beside the override
    planner::RouteResult route(const planner::RouteRequest& /*request*/) override {
        planner::RouteResult r;
        r.content = {{"action", "restart"}, {"service", "mosquitto"}, {"node", "chelsty-infra"},
                     {"reason", "stopped"}, {"confidence", 0.95},     {"requires_human", false}};
        r.model_used = "always-restart";
        r.attempts = {{"always-restart", planner::AttemptStatus::success, "", 0.0}};
        return r;
    }
};

}  // namespace

int main() {
    const auto raw = nlohmann::json::parse(
        R"({"type": "service_unhealthy", "node": "chelsty-infra", "service": "mosquitto"})");
    const auto event = planner::parse_event(raw, "health_events");
    if (!event) return 1;

    planner::CooldownTracker cooldown;
    if (!cooldown.is_ready(event->svc_key())) return 1;

    AlwaysRestart router;
    const auto result = router.route(planner::build_messages(*event), planner::proposal_schema());
    if (!planner::validate_proposal(result.content).empty()) return 1;

    auto proposal = planner::make_proposal(*event, result);
    proposal.action_id = planner::make_action_id(*event, proposal.created_at, 1);
    cooldown.record(event->svc_key());

    std::cout << proposal.to_action_file().dump(2) << "\n";
    // The house rules hold whatever the router said: chelsty always needs a human.
    return proposal.requires_human ? 0 : 1;
}
