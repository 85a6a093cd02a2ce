#include "planner/replay.hpp"

#include "planner/detail/json_limits.hpp"

namespace planner {

std::optional<IntakeResult> replay_line(PlannerAgent& agent, std::string_view line) {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.remove_suffix(1);
    while (!line.empty() && line.front() == ' ') line.remove_prefix(1);
    if (line.empty() || line.front() == '#') return std::nullopt;
    // A recorded message wraps the event one level deeper, hence the extra level.
    const std::size_t depth = agent.options().limits.max_payload_depth + 2;
    if (line.size() <= agent.options().max_message_bytes &&
        !detail::json_text_exceeds_depth(line, depth)) {
        const auto doc = nlohmann::json::parse(line, nullptr, false);
        if (doc.is_object() && doc.contains("data") && !doc.contains("node")) {
            const auto channel = doc.find("channel");
            return agent.dispatch(channel != doc.end() && channel->is_string()
                                      ? channel->get_ref<const std::string&>()
                                      : std::string("replay"),
                                  doc["data"]);
        }
    }
    return agent.dispatch_text("replay", line);
}

}  // namespace planner
