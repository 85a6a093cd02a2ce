#include <algorithm>
#include <array>
#include <optional>
#include <string>
#include <string_view>

#include "chain_detail.hpp"
#include "planner/messages.hpp"

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

/// The JSON object between the event tags of the last message that has them.
std::optional<json> find_event(const std::vector<ChatMessage>& messages) {
    for (auto it = messages.rbegin(); it != messages.rend(); ++it) {
        const std::string_view text = it->content;
        const auto open = text.find(kEventOpenTag);
        if (open == std::string_view::npos) continue;
        const auto start = open + kEventOpenTag.size();
        const auto close = text.find(kEventCloseTag, start);
        if (close == std::string_view::npos) return std::nullopt;
        auto event = json::parse(text.substr(start, close - start), nullptr, false);
        if (!event.is_object()) return std::nullopt;
        return event;
    }
    return std::nullopt;
}

std::string string_field(const json& event, const char* key) {
    const auto it = event.find(key);
    if (it == event.end() || !it->is_string()) return {};
    return it->get<std::string>();
}

json proposal(std::string_view action, std::string node, std::string service, std::string reason) {
    return json{{"action", action},
                {"service", service.empty() ? "unknown" : std::move(service)},
                {"node", node.empty() ? "unknown" : std::move(node)},
                {"reason", std::move(reason)},
                {"confidence", kRulesConfidence},
                {"requires_human", true}};
}

json rules_proposal(const std::optional<json>& event) {
    if (!event) {
        return proposal("notify", "", "",
                        "rules: the event could not be read; a human should look");
    }
    auto node = string_field(*event, "node");
    auto service = string_field(*event, "service");
    const auto type = string_field(*event, "event_type");
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
    ProviderAnswer ask(const std::vector<ChatMessage>& messages, const json&) override {
        auto content = rules_proposal(find_event(messages));
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
