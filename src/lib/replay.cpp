#include "replay.hpp"

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

/// What intake checks on a message's text before parsing it (PlannerAgent::dispatch_text).
bool intake_accepts(const PlannerAgent& agent, std::string_view text) {
    return text.size() <= agent.options().max_message_bytes &&
           !detail::json_text_exceeds_depth(text, agent.options().limits.max_payload_depth + 1);
}

/// A recorded pub/sub message rather than an event.
bool is_wrapped(const nlohmann::json& doc) {
    return doc.is_object() && doc.contains("data") && !doc.contains("node");
}

/// A recorded message's `data`: only a string holds an event (the seed's `_dispatch`; pub/sub's
/// own confirmations carry numbers). Intake takes text, so the agent is told of anything else
/// as a refusal: counted and logged like intake's own.
IntakeResult dispatch_data(PlannerAgent& agent, const std::string& channel,
                           const nlohmann::json& data) {
    if (data.is_string()) return agent.dispatch_text(channel, data.get_ref<const std::string&>());
    return agent.refuse(channel, std::string("data must be a string, got ") + data.type_name());
}

}  // namespace

std::optional<IntakeResult> replay_line(PlannerAgent& agent, std::string_view line) {
    line = trimmed(line);
    if (skipped(line)) return std::nullopt;
    if (readable(agent, line)) {
        const auto doc = nlohmann::json::parse(line, nullptr, false);
        if (is_wrapped(doc)) {
            const auto channel = doc.find("channel");
            return dispatch_data(agent,
                                 channel != doc.end() && channel->is_string()
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
    // Each line is parsed once: the document that gives the event time is the one planned
    // (handed to the agent as an event), not parsed again by the agent's intake.
    nlohmann::json outer;
    if (readable(agent, line)) outer = nlohmann::json::parse(line, nullptr, false);
    std::string channel = "replay";
    std::string_view text = line;  // the event's own text, as intake would be handed it
    const nlohmann::json* data = nullptr;
    nlohmann::json event;  // discarded (null) unless intake would parse the text
    std::optional<double> at;
    if (is_wrapped(outer)) {
        if (const auto it = outer.find("channel"); it != outer.end() && it->is_string()) {
            channel = it->get<std::string>();
        }
        data = &outer["data"];
        if (data->is_string()) {
            text = data->get_ref<const std::string&>();
            // Deeper than intake allows is rejected there unparsed: no time from it either.
            if (intake_accepts(agent, text)) {
                event = nlohmann::json::parse(text, nullptr, false);
                if (event.is_object()) at = event_time_of(event);
            }
        }
    } else if (!outer.is_discarded()) {
        at = event_time_of(outer);
        if (intake_accepts(agent, line)) event = std::move(outer);
    }
    if (const auto step = clock.observe(at); step != EventClock::Step::advanced) {
        log.log(LogLevel::warn, "event_time_kept",
                {{"line", line_no},
                 {"why", to_string(step)},
                 {"event_time", format_utc_timestamp(clock.wall_now())}});
    }
    if (at_event_time) at_event_time();
    std::optional<IntakeResult> result;
    if (event.is_object()) {
        auto parsed =
            try_parse_event(std::move(event), channel, detail::to_epoch_seconds(clock.wall_now()),
                            agent.options().limits);
        if (parsed) result = agent.submit(std::move(*parsed.event));
    }
    // Anything else is rejected by intake, which explains (and parses again: a bad line only).
    if (!result) {
        if (data != nullptr && !data->is_string()) {
            result = dispatch_data(agent, channel, *data);
        } else {
            result = agent.dispatch_text(channel, text);
        }
    }
    // Planned at its own time: the next event must find this one's cooldown and budget.
    while (!agent.wait_idle(std::chrono::seconds{1})) {
    }
    return result;
}

}  // namespace planner
