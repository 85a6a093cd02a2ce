#pragma once

// The base the stream log sinks of log.hpp share; not part of the API (detail), installed
// only because JsonLinesLogSink and TextLogSink derive from it.

#include <cstdio>
#include <mutex>
#include <string>
#include <string_view>

#include "planner/clock.hpp"
#include "planner/log_sink.hpp"

namespace planner {

namespace detail {

/// What the stream sinks share: the stream, the level filter, the clock, the journald priority
/// prefix and the lock that keeps concurrent lines whole. Each sink adds only its own line
/// format, so a fix here reaches both.
class StreamLogSinkBase : public LogSink {
  public:
    bool enabled(LogLevel level) const noexcept override { return level >= min_level_; }
    /// Flushes the stream (each line is already flushed as it is written).
    void flush() override;

  protected:
    StreamLogSinkBase(std::FILE* out, LogLevel min_level, WallTimeSource now,
                      bool journal_priorities);
    /// The current time as the line's ISO 8601 UTC timestamp.
    std::string timestamp() const;
    /// Writes and flushes one whole line under the lock, so concurrent lines never interleave;
    /// with journal priorities on, the line starts with the level's `<N>` prefix.
    void write_line(LogLevel level, const std::string& line);

  private:
    std::FILE* out_;
    LogLevel min_level_;
    WallTimeSource now_;
    bool journal_priorities_;
    std::mutex mutex_;
};

/// The sd-daemon(3) priority prefix journald reads at the start of a stream line: `<3>` error,
/// `<4>` warn, `<6>` info, `<7>` debug (syslog's numbers), so `journalctl -p warning` filters.
std::string_view journal_priority_prefix(LogLevel level) noexcept;

}  // namespace detail

}  // namespace planner
