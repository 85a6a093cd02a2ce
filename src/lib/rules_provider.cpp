#include <algorithm>
#include <array>
#include <string>
#include <string_view>

#include "chain_detail.hpp"

namespace planner::detail {

namespace {

using nlohmann::json;

/// Event types that a restart of the event's service usually clears.
constexpr std::array<std::string_view, 10> kRestartEventTypes{
    "service_stopped",   "service_unhealthy",   "service_crashed",   "service_exited",
    "container_stopped", "container_unhealthy", "container_crashed", "container_exited",
    "service_down",      "container_down"};

/// Below the house rules' 0.7, so a human confirms whatever the rules propose.
constexpr double kRulesConfidence = 0.5;

json proposal(std::string_view action, std::string node, std::string service, std::string reason) {
    return json{{"action", action},
                {"service", service.empty() ? "unknown" : std::move(service)},
                {"node", node.empty() ? "unknown" : std::move(node)},
                {"reason", std::move(reason)},
                {"confidence", kRulesConfidence},
                {"requires_human", true}};
}

/// Decided from the event itself, never from prompt text: the fallback must not depend on how
/// the prompt is worded or on the payload cap the prompt applies.
json rules_proposal(const HealthEvent* event) {
    if (!event) {
        return proposal(
            "notify", "", "",
            "rules: the event could not be read (the request carries none); a human should look");
    }
    std::string node = event->node;
    std::string service = event->service;
    const std::string& type = event->event_type;
    // Appended piecewise: `"'" + s + "'"` trips GCC 12's false -Wrestrict at -O3.
    std::string quoted_type(1, '\'');
    quoted_type += printable(type, 256);
    quoted_type += '\'';
    const bool restartable = std::find(kRestartEventTypes.begin(), kRestartEventTypes.end(),
                                       type) != kRestartEventTypes.end();
    if (restartable && service.empty()) {
        return proposal(
            "notify", std::move(node), std::move(service),
            "rules: " + quoted_type + " names no service to restart; a human should look");
    }
    if (restartable) {
        return proposal("restart", std::move(node), std::move(service),
                        "rules: " + quoted_type +
                            " usually clears with a restart of the service; no model was "
                            "consulted, so a human confirms");
    }
    if (type.ends_with("_pressure")) {
        return proposal("notify", std::move(node), std::move(service),
                        "rules: " + quoted_type +
                            " is resource pressure, which a restart does not relieve; a human "
                            "should look");
    }
    return proposal("notify", std::move(node), std::move(service),
                    "rules: no rule for event type " + quoted_type + "; a human should look");
}

/// Always answers, without a network: the planner keeps proposing when every model is down.
class RulesProvider final : public ModelProvider {
  public:
    ProviderAnswer ask(const RouteRequest& request) override {
        auto content = rules_proposal(request.event);
        ProviderAnswer answer;
        answer.status = AttemptStatus::success;
        answer.text = content.dump();
        answer.object = std::move(content);
        return answer;
    }
};

}  // namespace

std::unique_ptr<ModelProvider> make_rules_provider() {
    return std::make_unique<RulesProvider>();
}

}  // namespace planner::detail
