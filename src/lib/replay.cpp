#include "planner/replay.hpp"

#include "planner/detail/json_limits.hpp"

namespace planner {

namespace {

std::string_view trimmed(std::string_view line) {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.remove_suffix(1);
    while (!line.empty() && line.front() == ' ') line.remove_prefix(1);
    return line;
}

bool skipped(std::string_view line) {
    return line.empty() || line.front() == '#';
}

/// Only lines the agent would parse: a line over its limits is rejected there anyway.
bool readable(const PlannerAgent& agent, std::string_view line) {
    // A recorded message wraps the event one level deeper, hence the extra level.
    const std::size_t depth = agent.options().limits.max_payload_depth + 2;
    return line.size() <= agent.options().max_message_bytes &&
           !detail::json_text_exceeds_depth(line, depth);
}

}  // namespace

std::optional<IntakeResult> replay_line(PlannerAgent& agent, std::string_view line) {
    line = trimmed(line);
    if (skipped(line)) return std::nullopt;
    if (readable(agent, line)) {
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

std::optional<IntakeResult> replay_line_in_event_time(PlannerAgent& agent, EventClock& clock,
                                                      std::string_view line, std::size_t line_no,
                                                      LogSink& log,
                                                      const std::function<void()>& at_event_time) {
    line = trimmed(line);
    if (skipped(line)) return std::nullopt;
    std::optional<double> at;
    if (readable(agent, line)) {
        at = event_time_of(nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false));
    }
    if (const auto step = clock.observe(at); step != EventClock::Step::advanced) {
        log.log(LogLevel::warn, "event_time_kept",
                {{"line", line_no},
                 {"why", to_string(step)},
                 {"event_time", format_utc_timestamp(clock.wall_now())}});
    }
    if (at_event_time) at_event_time();
    const auto result = replay_line(agent, line);
    // Planned at its own time: the next event must find this one's cooldown and budget.
    while (!agent.wait_idle(std::chrono::seconds{1})) {
    }
    return result;
}

}  // namespace planner
