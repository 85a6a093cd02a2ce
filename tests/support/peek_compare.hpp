#pragma once

// The intake peek's two passes side by side, for the differential test and the `peek` fuzz
// target: simdjson's fast pass (EventPeek::read_fast) must never vouch for a message the SAX
// pass (read_sax, nlohmann's grammar) would decide differently, what intake decides with the
// combined read() must be what the SAX pass alone decides, and the peek's verdict must be
// try_parse_event's (both check kEventFields with check_event_fields).

#include <string>
#include <string_view>

#include <planner/detail/json_limits.hpp>
#include <planner/health_event.hpp>

#include "event_peek.hpp"

namespace planner::testing {

/// What intake takes from a peek: whether it may decide on it, and the names it decides with.
struct PeekDecision {
    bool read = false;
    bool valid = false;
    std::string event_type, node, service;

    friend bool operator==(const PeekDecision&, const PeekDecision&) = default;
};

inline PeekDecision peek_decision(const detail::EventPeek& peek, bool read,
                                  const EventLimits& limits) {
    PeekDecision d;
    d.read = read;
    d.valid = read && peek.valid(limits);
    if (d.valid) {
        d.event_type = peek.event_type();
        d.node = peek.node();
        d.service = peek.service();
    }
    return d;
}

/// Empty when the passes agree on `data`, else what differs.
inline std::string peek_disagreement(std::string_view data, const EventLimits& limits = {}) {
    detail::EventPeek sax;
    const PeekDecision reference = peek_decision(sax, sax.read_sax(data), limits);

    detail::EventPeek fast;
    const bool fast_read = fast.read_fast(data);
    if (fast_read) {
        if (peek_decision(fast, true, limits) != reference) return "read_fast differs from SAX";
    }
    detail::EventPeek combined;
    if (peek_decision(combined, combined.read(data), limits) != reference) {
        return "read() differs from SAX";
    }
    // One table drives both: for a message the SAX pass read without a repeated field, the
    // peek's verdict is try_parse_event's, both ways (intake refuses deeper nesting first).
    if (reference.read && !reference.valid && !sax.repeated() &&
        !detail::json_text_exceeds_depth(data, limits.max_payload_depth + 1)) {
        const auto raw = nlohmann::json::parse(data, nullptr, /*allow_exceptions=*/false);
        if (raw.is_discarded()) return "peek read, DOM parse failed";
        if (try_parse_event(raw, "health_events", 1'780'000'000.0, limits)) {
            return "peek refused, try_parse_event accepted";
        }
    }
    // What intake does with a valid peek: the full parse must accept it with the same names
    // (intake refuses deeper nesting before either pass runs).
    if (reference.valid && !detail::json_text_exceeds_depth(data, limits.max_payload_depth + 1)) {
        const auto raw = nlohmann::json::parse(data, nullptr, /*allow_exceptions=*/false);
        if (raw.is_discarded()) return "peek valid, DOM parse failed";
        const auto parsed = try_parse_event(raw, "health_events", 1'780'000'000.0, limits);
        if (!parsed) return "peek valid, try_parse_event refused: " + parsed.error;
        if (parsed.event->event_type != reference.event_type ||
            parsed.event->node != reference.node || parsed.event->service != reference.service) {
            return "peek valid, names differ from try_parse_event";
        }
    }
    return {};
}

}  // namespace planner::testing
