#pragma once

/// \file
/// Whether a stream is connected to journald, by systemd's documented check: the service
/// manager sets JOURNAL_STREAM to `<device>:<inode>` of the journal stream it gave the process,
/// and the stream is the journal only while the descriptor still has that device and inode (a
/// shell redirect or a child process inheriting the variable fails the check).

namespace planner::cli {

/// True when `journal_stream` (JOURNAL_STREAM's value; null when unset) names `fd`'s device and
/// inode in decimal, `<dev>:<ino>`. Anything malformed, or an fd fstat cannot read, is false.
bool stream_is_journal(const char* journal_stream, int fd) noexcept;

/// stream_is_journal(getenv("JOURNAL_STREAM"), STDERR_FILENO): planner-run's log stream.
bool stderr_is_journal() noexcept;

}  // namespace planner::cli
