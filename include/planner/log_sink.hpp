#pragma once

/// \file
/// The logging interface alone (the shape of spdlog's `sink.h`), header-only and part of
/// `planner::core`, so code that links only the core can take a LogSink and tests can record
/// one. The compiled sinks that write streams are in log.hpp.

#include <optional>
#include <string_view>

#include <nlohmann/json.hpp>

namespace planner {

enum class LogLevel { debug, info, warn, error };

constexpr std::string_view to_string(LogLevel level) noexcept {
    switch (level) {
        case LogLevel::debug:
            return "debug";
        case LogLevel::info:
            return "info";
        case LogLevel::warn:
            return "warn";
        case LogLevel::error:
            return "error";
    }
    return "error";
}

/// "debug" | "info" | "warn" (or "warning") | "error"; nullopt for anything else.
constexpr std::optional<LogLevel> parse_log_level(std::string_view text) noexcept {
    if (text == "debug") return LogLevel::debug;
    if (text == "info") return LogLevel::info;
    if (text == "warn" || text == "warning") return LogLevel::warn;
    if (text == "error") return LogLevel::error;
    return std::nullopt;
}

/// Receives one structured line: a short snake_case event name plus fields. Implementations must
/// be thread-safe, since planner workers log concurrently. Fields never carry secrets: callers
/// log redacted URLs and never API keys. A sink that cannot write loses the line rather than
/// throw: logging never changes what the planner decides.
class LogSink {
  public:
    virtual ~LogSink() = default;
    virtual void log(LogLevel level, std::string_view event, const nlohmann::json& fields) = 0;
    /// False when a line at `level` would be dropped, so callers can skip building its fields
    /// on hot paths. Advisory: log() must still accept and filter any level. The default says
    /// true, so a sink that filters nothing (or a test recorder) need not override it.
    virtual bool enabled(LogLevel /*level*/) const noexcept { return true; }
    /// Pushes out whatever the sink still holds (buffered bytes, pending summaries), e.g.
    /// before the process exits. Thread-safe like log(). The default does nothing, for sinks
    /// that hold nothing back.
    virtual void flush() {}
};

/// Drops everything.
class NullLogSink final : public LogSink {
  public:
    void log(LogLevel, std::string_view, const nlohmann::json&) override {}
    bool enabled(LogLevel) const noexcept override { return false; }
};

}  // namespace planner
