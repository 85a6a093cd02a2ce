#pragma once

/// \file
/// The compiled log sinks: JSON lines or text on a stream, and a rate limiter. The LogSink
/// interface itself is header-only, in log_sink.hpp (part of `planner::core`).

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include <nlohmann/json.hpp>

#include "planner/clock.hpp"
#include "planner/detail/stream_log_sink.hpp"
#include "planner/log_sink.hpp"

namespace planner {

/// One JSON object per line: `{"ts":..., "level":..., "event":..., <fields>...}`. A field named
/// like a reserved key is written as `_<key>` so it cannot forge the level or event.
class JsonLinesLogSink final : public detail::StreamLogSinkBase {
  public:
    /// `journal_priorities` prefixes every line with its sd-daemon(3) priority (`<4>` before a
    /// warning, ...) so journald files it at that level. Turn it on only when `out` is the
    /// journal (planner-run checks JOURNAL_STREAM against stderr): anywhere else it is noise.
    explicit JsonLinesLogSink(std::FILE* out, LogLevel min_level = LogLevel::info,
                              WallTimeSource now = std::chrono::system_clock::now,
                              bool journal_priorities = false);
    void log(LogLevel level, std::string_view event, const nlohmann::json& fields) override;
};

/// `2026-05-27T12:00:00.000Z INFO  proposal_written action_id=plan-... node=piha`, for people.
/// Values with spaces, quotes or control characters are JSON-quoted, so one line stays one line.
class TextLogSink final : public detail::StreamLogSinkBase {
  public:
    /// `journal_priorities`: as for JsonLinesLogSink, the `<N>` priority before each line.
    explicit TextLogSink(std::FILE* out, LogLevel min_level = LogLevel::info,
                         WallTimeSource now = std::chrono::system_clock::now,
                         bool journal_priorities = false);
    void log(LogLevel level, std::string_view event, const nlohmann::json& fields) override;
};

/// At most this many lines per event name per window; the rest are counted.
struct LogRateLimit {
    std::size_t lines_per_window = 20;
    std::chrono::milliseconds window{1'000};
    /// Event names tracked at once; names are chosen by code, so this is only a backstop.
    std::size_t max_tracked_events = 256;
};

/// Keeps a flood of bad messages from filling the disk with logs: per event name, lines beyond
/// the limit are dropped and reported later as one `log_suppressed` line with the count.
class RateLimitedLogSink final : public LogSink {
  public:
    explicit RateLimitedLogSink(LogSink& inner, LogRateLimit limit = {},
                                SteadyTimeSource now = std::chrono::steady_clock::now);
    void log(LogLevel level, std::string_view event, const nlohmann::json& fields) override;
    bool enabled(LogLevel level) const noexcept override { return inner_.enabled(level); }

    /// Reports every pending suppressed count now, e.g. before the exit summary, then flushes
    /// the inner sink.
    void flush() override;
    /// Lines dropped since construction.
    std::uint64_t suppressed_total() const;

  private:
    struct Window {
        std::chrono::steady_clock::time_point start;
        std::size_t lines = 0;
        std::uint64_t suppressed = 0;
        LogLevel max_suppressed = LogLevel::debug;
    };
    static void report(LogSink& inner, std::string_view event, const Window& w);

    LogSink& inner_;
    LogRateLimit limit_;
    SteadyTimeSource now_;
    mutable std::mutex mutex_;
    std::unordered_map<std::string, Window> windows_;
    std::uint64_t suppressed_total_ = 0;
};

}  // namespace planner
