#pragma once

/// \file
/// Silences (maintenance windows) kept in `<state_dir>/silences.json`: planner-ctl adds and
/// expires them, planner-run reads them. Compiled, part of planner::planner.

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "planner/clock.hpp"
#include "planner/log_sink.hpp"
#include "planner/silences.hpp"

namespace planner {

struct SilenceStoreOptions {
    /// Holds `silences.json` (and `silences.lock`); created on the first add.
    std::filesystem::path state_dir;
    /// How often active_match looks whether the file changed (one stat); a silence another
    /// process added is in force at most this much later.
    std::chrono::milliseconds recheck_interval{std::chrono::seconds{1}};
    /// Silences that ended longer ago than this are dropped from the file on the next write.
    std::chrono::seconds keep_ended{std::chrono::hours{24 * 7}};
    /// Longest silence a person may set: a forgotten one must end by itself.
    std::chrono::seconds max_duration{std::chrono::hours{24 * 30}};
    /// More silences than this in the file are refused (a runaway script, not a homelab).
    std::size_t max_silences = 1000;
    /// fsync the file and the directory. Only tests turn it off.
    bool fsync = true;
    /// Where a file that is not a silences file (hand-edited badly) is reported when
    /// active_match finds it: one warning `silences_unreadable` per new version of the file.
    /// Optional; planner-run passes its log.
    LogSink* log = nullptr;
};

/// Why add or expire was refused; `what()` is the one line planner-ctl prints.
class SilenceError : public std::runtime_error {
  public:
    enum class Kind { invalid, not_found, conflict, io };
    SilenceError(Kind kind, const std::string& message)
        : std::runtime_error(message), kind_(kind) {}
    Kind kind() const noexcept { return kind_; }

  private:
    Kind kind_;
};

/// A silence as stored and as `planner-ctl silence list --json` prints it.
nlohmann::json to_json(const Silence& s);
/// The silence in `j` (the shape to_json writes); nullopt when it is not one (no valid id, no
/// pattern, no end), so one bad entry from a file or from Redis never fails the others.
std::optional<Silence> silence_from_json(const nlohmann::json& j);

/// The silences file of one state directory. Writers (add, expire) hold an exclusive flock on
/// `silences.lock`, re-read the file and replace it atomically, so concurrent planner-ctl runs
/// never lose each other's silences. Readers never lock: they see the old file or the new one.
/// Thread-safe.
class SilenceStore final : public Silences {
  public:
    explicit SilenceStore(SilenceStoreOptions options,
                          WallTimeSource wall = std::chrono::system_clock::now,
                          SteadyTimeSource steady = std::chrono::steady_clock::now);

    /// A new silence from now for `duration`. Throws SilenceError(invalid) for an empty or
    /// over-long pattern, a pattern with control characters, a duration outside
    /// (0, max_duration], an empty `by`; SilenceError(io) when the file cannot be written.
    Silence add(const std::string& match, std::chrono::seconds duration, const std::string& by,
                const std::string& reason);
    /// Ends a running silence now. Throws SilenceError(invalid) for an id that is not
    /// `[A-Za-z0-9._-]`, (not_found), (conflict) when it already ended.
    Silence expire(std::string_view id, const std::string& by);
    /// Every silence in the file, running and recently ended, oldest first (read now).
    std::vector<Silence> list() const;
    /// Takes in silences another copy holds (Redis, for replicas): an unknown id is added, a
    /// known one takes the earlier end (expiring only ever shortens a silence, so copies that
    /// exchange silences this way agree whatever the order). Writes the file only when
    /// something changed; returns how many silences changed. Throws SilenceError(io).
    std::size_t absorb(const std::vector<Silence>& others);

    /// From the silences last read; the file is looked at (one stat, a read only when it
    /// changed) at most once per recheck_interval of the steady clock.
    std::optional<std::string> active_match(std::string_view key,
                                            std::chrono::system_clock::time_point now) override;

    std::filesystem::path path() const { return options_.state_dir / "silences.json"; }
    /// Why the last read failed (a file that is not silences); empty after a good read. The
    /// silences read before stay in force.
    std::string last_error() const;

  private:
    struct Signature {
        ino_t ino = 0;
        off_t size = -1;
        std::int64_t mtime_ns = -1;
        bool operator==(const Signature&) const = default;
    };
    template <class Change>
    auto modify(Change change);

    SilenceStoreOptions options_;
    WallTimeSource wall_;
    SteadyTimeSource steady_;
    mutable std::mutex mutex_;
    std::vector<Silence> cached_;
    Signature seen_{};
    bool checked_ = false;
    std::chrono::steady_clock::time_point last_check_{};
    std::string last_error_;
};

}  // namespace planner
