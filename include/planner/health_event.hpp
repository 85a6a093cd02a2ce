#pragma once

/// \file
/// A health event as node agents publish it, and the parser that accepts both wire shapes.

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
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

/// What a top-level field of an event may hold.
enum class EventFieldRule : std::uint8_t {
    name,     ///< a string of at most EventLimits::max_name_bytes (or null)
    payload,  ///< an object nesting at most EventLimits::max_payload_depth (or null)
    time,     ///< a string or a number (or null); unreadable times fall back to now
};

/// The top-level fields of an event: the one statement of what try_parse_event accepts. The
/// agent's DOM-free peek (src/lib/event_peek.hpp) reads a message by the same table and checks
/// it with the same check_event_fields, so the two cannot disagree on validity. Other names are
/// ignored. `type` (shape A, node agents) or else `event_type` (shape B, world_updates) names
/// the event type; `service` defaults to the node, `severity` to "warning".
struct EventFieldSpec {
    std::string_view name;
    EventFieldRule rule;
};
inline constexpr std::size_t kEventNode = 0, kEventType = 1, kEventEventType = 2, kEventService = 3,
                             kEventSeverity = 4, kEventPayload = 5, kEventTimestamp = 6,
                             kEventFieldCount = 7;
inline constexpr std::array<EventFieldSpec, kEventFieldCount> kEventFields{{
    {"node", EventFieldRule::name},
    {"type", EventFieldRule::name},
    {"event_type", EventFieldRule::name},
    {"service", EventFieldRule::name},
    {"severity", EventFieldRule::name},
    {"payload", EventFieldRule::payload},
    {"timestamp", EventFieldRule::time},
}};

/// The JSON kind of a field as either reader saw it.
enum class FieldKind : std::uint8_t { absent, null, string, number, boolean, object, array };

/// One field as read, for check_event_fields: its kind, a string's text, a container's depth
/// (itself counted 1).
struct FieldSeen {
    FieldKind kind = FieldKind::absent;
    std::string_view text;
    std::size_t depth = 0;
};
using EventFieldsSeen = std::array<FieldSeen, kEventFieldCount>;

/// nlohmann's type_name() for a kind, so both readers explain a rejection in the same words.
constexpr const char* field_kind_name(FieldKind kind) noexcept {
    switch (kind) {
        case FieldKind::absent:
        case FieldKind::null:
            return "null";
        case FieldKind::string:
            return "string";
        case FieldKind::number:
            return "number";
        case FieldKind::boolean:
            return "boolean";
        case FieldKind::object:
            return "object";
        case FieldKind::array:
            return "array";
    }
    return "null";
}

/// The event type a reading names: `type`, else `event_type`.
constexpr std::string_view seen_event_type(const EventFieldsSeen& f) noexcept {
    return f[kEventType].text.empty() ? f[kEventEventType].text : f[kEventType].text;
}

/// The rules of kEventFields applied to what was read, in try_parse_event's order. True when
/// the event is acceptable; otherwise false, with the one-line reason in `*error` when given
/// (the peek passes none: building words is for the path that rejects).
inline bool check_event_fields(const EventFieldsSeen& f, const EventLimits& limits,
                               std::string* error) {
    const auto fail = [&](auto&& words) {
        if (error != nullptr) *error = words();
        return false;
    };
    for (std::size_t i = 0; i < kEventFieldCount; ++i) {
        const FieldSeen& x = f[i];
        if (kEventFields[i].rule != EventFieldRule::name) continue;
        // `event_type` is read only when `type` names nothing.
        if (i == kEventEventType && !f[kEventType].text.empty()) continue;
        if (x.kind == FieldKind::absent || x.kind == FieldKind::null) continue;
        const std::string_view name = kEventFields[i].name;
        if (x.kind != FieldKind::string) {
            return fail([&] {
                return "field '" + std::string(name) + "' must be a string, got " +
                       field_kind_name(x.kind);
            });
        }
        if (x.text.size() > limits.max_name_bytes) {
            return fail([&] {
                return "field '" + std::string(name) + "' is " + std::to_string(x.text.size()) +
                       " bytes, limit " + std::to_string(limits.max_name_bytes);
            });
        }
    }
    if (f[kEventNode].text.empty()) return fail([] { return std::string("missing field 'node'"); });
    if (seen_event_type(f).empty()) {
        return fail([] { return std::string("missing field 'type' (or 'event_type')"); });
    }
    const FieldSeen& payload = f[kEventPayload];
    if (payload.kind != FieldKind::absent && payload.kind != FieldKind::null) {
        if (payload.kind != FieldKind::object) {
            return fail([&] {
                return std::string("field 'payload' must be an object, got ") +
                       field_kind_name(payload.kind);
            });
        }
        if (payload.depth > limits.max_payload_depth) {
            return fail([&] {
                return "field 'payload' nests deeper than " +
                       std::to_string(limits.max_payload_depth) + " levels";
            });
        }
    }
    const FieldKind ts = f[kEventTimestamp].kind;
    if (ts != FieldKind::absent && ts != FieldKind::null && ts != FieldKind::number &&
        ts != FieldKind::string) {
        return fail([&] {
            return std::string("field 'timestamp' must be a string or number, got ") +
                   field_kind_name(ts);
        });
    }
    return true;
}

/// A DOM value's kind, for check_event_fields.
inline FieldKind field_kind_of(const nlohmann::json& v) noexcept {
    if (v.is_null()) return FieldKind::null;
    if (v.is_string()) return FieldKind::string;
    if (v.is_boolean()) return FieldKind::boolean;
    if (v.is_number()) return FieldKind::number;
    if (v.is_object()) return FieldKind::object;
    return FieldKind::array;  // an array (binary values never come from text)
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
        // Read by the table, checked by its rules: the same check the peek makes.
        EventFieldsSeen seen;
        std::array<decltype(raw.end()), kEventFieldCount> at;
        for (std::size_t i = 0; i < kEventFieldCount; ++i) {
            at[i] = raw.find(kEventFields[i].name);
            if (at[i] == raw.end()) continue;
            const auto& v = *at[i];
            seen[i].kind = field_kind_of(v);
            if (v.is_string()) seen[i].text = v.template get_ref<const std::string&>();
        }
        if (seen[kEventPayload].kind == FieldKind::object) {
            seen[kEventPayload].depth = json_depth(*at[kEventPayload]);
        }
        if (!check_event_fields(seen, limits, &result.error)) return result;
        HealthEvent ev;
        ev.node = seen[kEventNode].text;
        ev.event_type = seen_event_type(seen);
        ev.service =
            seen[kEventService].text.empty() ? seen[kEventNode].text : seen[kEventService].text;
        if (!seen[kEventSeverity].text.empty()) ev.severity = seen[kEventSeverity].text;
        const auto payload = at[kEventPayload];

        ev.timestamp = now;
        if (const auto it = at[kEventTimestamp]; it != raw.end()) {
            if (seen[kEventTimestamp].kind == FieldKind::number) {
                const double v = it->template get<double>();
                if (std::isfinite(v) && v > 0) {
                    ev.timestamp = v > kMillisecondThreshold ? v / 1000.0 : v;
                }
            } else if (seen[kEventTimestamp].kind == FieldKind::string) {
                if (auto parsed = parse_iso8601(it->template get_ref<const std::string&>())) {
                    ev.timestamp = *parsed;
                }
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
