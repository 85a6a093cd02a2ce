#pragma once

/// \file
/// A health event as node agents publish it, and the parser that accepts both wire shapes.

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include <nlohmann/json.hpp>

#include "planner/detail/json_limits.hpp"
#include "planner/detail/time.hpp"

namespace planner {

/// One health report about a service on a node, normalised from either wire shape.
struct HealthEvent {
    std::string node;
    std::string service;
    std::string event_type;
    std::string severity = "warning";
    nlohmann::json payload = nlohmann::json::object();
    double timestamp = 0.0;  ///< epoch seconds (UTC)
    std::string raw_channel;

    /// The cooldown and coalescing key: one remediation per service per node at a time.
    std::string svc_key() const { return node + "/" + service; }
};

/// `HealthEvent(service_unhealthy vps/observer severity=error)`: for logs and test failures.
inline std::string to_string(const HealthEvent& e) {
    return "HealthEvent(" + e.event_type + " " + e.svc_key() + " severity=" + e.severity + ")";
}

inline std::ostream& operator<<(std::ostream& os, const HealthEvent& e) {
    return os << to_string(e);
}

/// Limits that keep one hostile event from costing more than a normal one.
struct EventLimits {
    std::size_t max_name_bytes = 256;    ///< node, service, event type, severity
    std::size_t max_payload_depth = 64;  ///< nesting of `payload`
};

/// Event types that report good news or come from the planner itself: never planned.
/// `remediation_*` is matched by prefix so the planner can never react to its own output.
inline constexpr std::array<std::string_view, 8> kBenignEventTypes{
    "service_healthy", "service_recovered", "service_started", "node_online",
    "heartbeat",       "agent_started",     "check_passed",    "world_snapshot"};
inline constexpr std::string_view kPlannerEventPrefix = "remediation_";

/// True for event types the planner skips without asking a model.
constexpr bool is_benign_event_type(std::string_view event_type) noexcept {
    if (event_type.starts_with(kPlannerEventPrefix)) return true;
    return std::find(kBenignEventTypes.begin(), kBenignEventTypes.end(), event_type) !=
           kBenignEventTypes.end();
}

/// The outcome of parsing: an event, or a one-line reason it was rejected.
struct EventParseResult {
    std::optional<HealthEvent> event;
    std::string error;  ///< empty when `event` holds a value

    explicit operator bool() const noexcept { return event.has_value(); }
};

namespace detail {

inline bool string_field(const nlohmann::json& raw, const char* key, std::string& out,
                         std::string& error, std::size_t max_bytes) {
    const auto it = raw.find(key);
    if (it == raw.end() || it->is_null()) return true;
    if (!it->is_string()) {
        error = std::string("field '") + key + "' must be a string, got " + it->type_name();
        return false;
    }
    const auto& s = it->get_ref<const std::string&>();
    if (s.size() > max_bytes) {
        error = std::string("field '") + key + "' is " + std::to_string(s.size()) +
                " bytes, limit " + std::to_string(max_bytes);
        return false;
    }
    out = s;
    return true;
}

/// Numbers above this are milliseconds: 1e11 seconds is the year 5138, 1e11 ms is 1973.
inline constexpr double kMillisecondThreshold = 1e11;

/// try_parse_event for a const document (copies the payload) or an rvalue (moves it out).
template <class Json>
EventParseResult parse_event_from(Json& raw, std::string_view channel, double now,
                                  const EventLimits& limits) noexcept {
    EventParseResult result;
    try {
        if (!raw.is_object()) {
            result.error = std::string("event must be a JSON object, got ") + raw.type_name();
            return result;
        }
        HealthEvent ev;
        std::string& err = result.error;
        const std::size_t max = limits.max_name_bytes;
        if (!string_field(raw, "node", ev.node, err, max)) return result;
        if (!string_field(raw, "type", ev.event_type, err, max)) return result;
        if (ev.event_type.empty() && !string_field(raw, "event_type", ev.event_type, err, max)) {
            return result;
        }
        if (!string_field(raw, "service", ev.service, err, max)) return result;
        if (!string_field(raw, "severity", ev.severity, err, max)) return result;
        if (ev.node.empty()) {
            err = "missing field 'node'";
            return result;
        }
        if (ev.event_type.empty()) {
            err = "missing field 'type' (or 'event_type')";
            return result;
        }
        if (ev.service.empty()) ev.service = ev.node;
        if (ev.severity.empty()) ev.severity = "warning";

        const auto payload = raw.find("payload");
        if (const auto it = payload; it != raw.end() && !it->is_null()) {
            if (!it->is_object()) {
                err = std::string("field 'payload' must be an object, got ") + it->type_name();
                return result;
            }
            if (json_depth(*it) > limits.max_payload_depth) {
                err = "field 'payload' nests deeper than " +
                      std::to_string(limits.max_payload_depth) + " levels";
                return result;
            }
        }

        ev.timestamp = now;
        if (const auto it = raw.find("timestamp"); it != raw.end() && !it->is_null()) {
            if (it->is_number() && !it->is_boolean()) {
                const double v = it->template get<double>();
                if (std::isfinite(v) && v > 0) {
                    ev.timestamp = v > kMillisecondThreshold ? v / 1000.0 : v;
                }
            } else if (it->is_string()) {
                if (auto parsed = parse_iso8601(it->template get_ref<const std::string&>())) {
                    ev.timestamp = *parsed;
                }
            } else {
                err = std::string("field 'timestamp' must be a string or number, got ") +
                      it->type_name();
                return result;
            }
        }
        // Last, so a rejected document is left as it was.
        if (payload != raw.end() && !payload->is_null()) {
            if constexpr (std::is_const_v<Json>) {
                ev.payload = *payload;
            } else {
                ev.payload = std::move(*payload);
            }
        }
        ev.raw_channel = std::string(channel);
        result.event = std::move(ev);
    } catch (const std::exception& e) {
        result.event.reset();
        result.error = std::string("event could not be read: ") + e.what();
    }
    return result;
}

}  // namespace detail

/// Parses a decoded JSON event. Shape A (node agents) names the type `type`, shape B
/// (world_updates) `event_type`. `now` fills a missing or unparsable timestamp. Never throws.
inline EventParseResult try_parse_event(const nlohmann::json& raw, std::string_view channel,
                                        double now, const EventLimits& limits = {}) noexcept {
    return detail::parse_event_from(raw, channel, now, limits);
}

/// The same for a document the caller no longer needs: the payload is moved, not copied.
/// On success `raw["payload"]` is left null; on failure `raw` is unchanged.
inline EventParseResult try_parse_event(nlohmann::json&& raw, std::string_view channel, double now,
                                        const EventLimits& limits = {}) noexcept {
    return detail::parse_event_from(raw, channel, now, limits);
}

/// The original API: the event, or nullopt when it is not one the planner can act on.
inline std::optional<HealthEvent> parse_event(const nlohmann::json& raw,
                                              std::string_view channel) noexcept {
    return try_parse_event(raw, channel, detail::to_epoch_seconds(std::chrono::system_clock::now()))
        .event;
}

}  // namespace planner
