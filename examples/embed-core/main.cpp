// Reads events (one JSON object per line) from stdin, decides with an injected router and prints
// each proposal's action file as one JSON line. Only the header-only planner::core is linked:
// no Redis, no HTTP, no schema library.

#include <iostream>
#include <string>

#include <planner/core.hpp>

namespace {

/// Stands in for a model: restarts whatever the event names, with high confidence. The house
/// rules below still decide what needs a human.
class RestartRouter final : public planner::LLMRouter {
  public:
    using LLMRouter::route;
    planner::RouteResult route(const planner::RouteRequest& request) override {
        planner::RouteResult r;
        const auto* e = request.event;
        r.content = {{"action", "restart"},
                     {"service", e ? e->service : "unknown"},
                     {"node", e ? e->node : "unknown"},
                     {"reason", "the embedder's stand-in model always restarts"},
                     {"confidence", 0.95},
                     {"requires_human", false}};
        r.model_used = "embed/restart";
        r.attempts = {{"embed/restart", planner::AttemptStatus::success, "", 0.0}};
        return r;
    }
};

}  // namespace

int main() {
    planner::HouseRules rules;  // chelsty* needs a human, disk_pressure is notify-only
    planner::CooldownTracker cooldown;
    RestartRouter router;
    std::uint64_t sequence = 0;
    for (std::string line; std::getline(std::cin, line);) {
        const auto raw = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
        const auto event = planner::parse_event(raw, "stdin");
        if (!event) {
            std::cerr << "skip: not an event\n";
            continue;
        }
        if (planner::is_benign_event_type(event->event_type)) continue;
        if (!cooldown.is_ready(event->svc_key())) continue;
        const auto result = router.route(
            {planner::build_messages(*event, rules), planner::proposal_schema(), &*event});
        auto proposal = planner::make_proposal(*event, result, rules);
        proposal.action_id = planner::make_action_id(*event, proposal.created_at, ++sequence);
        cooldown.record(event->svc_key());
        std::cout << proposal.to_action_file().dump() << "\n";
    }
    return 0;
}
