#pragma once

/// \file
/// Event time: a clock that reads the events' own timestamps, so a replayed day runs its
/// cooldowns, budgets, inhibition windows and silences as they ran that day, in seconds.
/// Header-only, part of planner::core.

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "planner/clock.hpp"
#include "planner/detail/time.hpp"
#include "planner/health_event.hpp"

namespace planner {

/// The time an event says it happened: its `timestamp` field, else `ts` (epoch seconds or
/// milliseconds as numbers, or ISO 8601 strings, as parse_event reads them). A recorded
/// pub/sub message `{"channel": ..., "data": "<event JSON>"}` is looked into. nullopt when
/// there is none or it cannot be read.
inline std::optional<double> event_time_of(const nlohmann::json& doc) {
    if (!doc.is_object()) return std::nullopt;
    if (!doc.contains("node")) {
        if (const auto data = doc.find("data"); data != doc.end() && data->is_string()) {
            const auto inner = nlohmann::json::parse(data->get_ref<const std::string&>(), nullptr,
                                                     /*allow_exceptions=*/false);
            return inner.is_object() ? event_time_of(inner) : std::nullopt;
        }
    }
    for (const char* key : {"timestamp", "ts"}) {
        const auto it = doc.find(key);
        if (it == doc.end() || it->is_null()) continue;
        if (it->is_number() && !it->is_boolean()) {
            const double v = it->get<double>();
            if (std::isfinite(v) && v > 0) return v > detail::kMillisecondThreshold ? v / 1000 : v;
        } else if (it->is_string()) {
            if (auto parsed = detail::parse_iso8601(it->get_ref<const std::string&>())) {
                return parsed;
            }
        }
        return std::nullopt;  // present but unreadable: `ts` is not a second opinion
    }
    return std::nullopt;
}

/// Time as the events tell it. observe() moves it to each event's time before the event is
/// dispatched; the agent and every time-dependent part read it through steady_source() and
/// wall_source(). It never goes backwards: an event without a time, or older than the last
/// one, leaves the time where it was (and observe says so, for one log line). The first
/// event with a time sets it whatever the start was: a recorded day is older than now. The
/// steady time is the wall time's distance from the epoch, so durations are event-time
/// durations. observe() is called by one thread (the replay); the sources may be read by any.
class EventClock {
  public:
    enum class Step { advanced, missing, backwards };

    /// `start`: the time until the first event with a timestamp (normally: now).
    explicit EventClock(
        std::chrono::system_clock::time_point start = std::chrono::system_clock::now())
        : ns_(std::chrono::duration_cast<std::chrono::nanoseconds>(start.time_since_epoch())
                  .count()) {}

    /// Moves to `epoch_seconds` unless it is missing or earlier than the current time.
    Step observe(std::optional<double> epoch_seconds) noexcept {
        if (!epoch_seconds || !std::isfinite(*epoch_seconds) || *epoch_seconds <= 0 ||
            *epoch_seconds > 9.0e9) {
            return Step::missing;
        }
        const auto ns = static_cast<std::int64_t>(std::llround(*epoch_seconds * 1e9));
        if (!seen_.exchange(true)) {
            ns_.store(ns);
            return Step::advanced;
        }
        std::int64_t current = ns_.load();
        while (ns >= current) {
            if (ns_.compare_exchange_weak(current, ns)) return Step::advanced;
        }
        return Step::backwards;
    }

    std::chrono::system_clock::time_point wall_now() const noexcept {
        return std::chrono::system_clock::time_point{
            std::chrono::duration_cast<std::chrono::system_clock::duration>(
                std::chrono::nanoseconds{ns_.load()})};
    }
    std::chrono::steady_clock::time_point steady_now() const noexcept {
        return std::chrono::steady_clock::time_point{
            std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                std::chrono::nanoseconds{ns_.load()})};
    }
    /// Sources for the agent and the stores; they read this clock, which must outlive them.
    SteadyTimeSource steady_source() const {
        return [this] { return steady_now(); };
    }
    WallTimeSource wall_source() const {
        return [this] { return wall_now(); };
    }

  private:
    std::atomic<std::int64_t> ns_;
    std::atomic<bool> seen_{false};  ///< an event with a time was observed
};

inline std::string_view to_string(EventClock::Step s) noexcept {
    switch (s) {
        case EventClock::Step::advanced:
            return "advanced";
        case EventClock::Step::missing:
            return "missing";
        case EventClock::Step::backwards:
            return "backwards";
    }
    return "missing";
}

}  // namespace planner
