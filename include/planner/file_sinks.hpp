#pragma once

/// \file
/// Durable, atomic, contained files: the pending-action queue the executor reads and the event
/// log people read.

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>

#include "planner/clock.hpp"
#include "planner/sinks.hpp"

namespace planner {

/// Prefix of the temporary files the writer creates; anything with it is ours to clean up.
inline constexpr std::string_view kTempFilePrefix = ".tmp-";

struct FileSinkOptions {
    /// fsync the file and its directory. Only benchmarks turn this off: without it a power cut
    /// can lose a proposal the log says was written.
    bool fsync = true;
};

/// Writes `content` to `file` so that a reader sees either the old file or the whole new one,
/// never a partial file: a temporary in the same directory, fsynced (unless `fsync` is false),
/// renamed over `file`, the directory fsynced. `file`'s name must be one plain component.
/// Throws std::system_error naming `file`, or std::invalid_argument for an unsafe name.
void write_file_atomically(const std::filesystem::path& file, std::string_view content,
                           bool fsync = true);

/// Removes the writer's temporaries (`.tmp-*` regular files) that a crash left in `dir` and in
/// its subdirectories up to `max_depth` levels down; symlinks are never followed. Returns the
/// number removed.
std::size_t remove_stale_temporaries(const std::filesystem::path& dir, int max_depth = 0);

/// Creates `dir` if missing and checks that files can be created in it. Throws
/// std::system_error with a one-line reason otherwise.
void prepare_output_directory(const std::filesystem::path& dir);

/// What an action file holds: `to_action_file()` indented by two, and a newline.
std::string action_file_text(const ActionProposal& proposal);

/// What an event file holds (docs/formats.md): the event, written on `node` at `timestamp`
/// (ISO 8601 UTC), indented by two, and a newline. The benchmark serialises with it too, so
/// it measures exactly what the sink writes.
std::string event_file_text(const PlannerEvent& event, const std::string& node,
                            const std::string& timestamp);

/// `<dir>/<action_id>.json`, exactly `ActionProposal::to_action_file()`. Creates new files
/// only: the status changes of a stored proposal (approve, reject, expire, escalate) are the
/// ActionStore's, which rewrites the file in place.
class FileActionSink final : public ActionSink {
  public:
    /// Creates `dir` if needed and removes stale temporaries. Throws std::system_error.
    explicit FileActionSink(std::filesystem::path dir, FileSinkOptions options = {});

    /// Writes the file atomically and never over an existing one, in one step (no check before
    /// a rename another writer could race): throws ActionIdTaken when `<action_id>.json` exists,
    /// leaving that file as it was and no temporary behind. Throws std::invalid_argument for an
    /// action id that is not a safe file name (make_action_id never produces one),
    /// std::system_error when the file cannot be written.
    std::string write(const ActionProposal& proposal) override;

    const std::filesystem::path& directory() const noexcept { return dir_; }

  private:
    std::filesystem::path dir_;
    FileSinkOptions options_;
};

/// Returns this planner's node name; called for every event, so a rename takes effect at once.
using NodeNameSource = std::function<std::string()>;

/// `<dir>/<YYYY-MM-DD UTC>/<node>/<HHMMSS.mmm>-<type>-<correlation id>.json` holding `type`,
/// `severity`, `node`, `service`, `correlation_id`, `payload` and `timestamp`. Every name goes
/// through safe_path_component, and subdirectories are opened without following symlinks.
class FileEventSink final : public EventSink {
  public:
    /// Creates `dir` if needed and removes stale temporaries. Throws std::system_error.
    FileEventSink(std::filesystem::path dir, NodeNameSource node_name,
                  WallTimeSource now = std::chrono::system_clock::now,
                  FileSinkOptions options = {});

    std::string emit(const PlannerEvent& event) override;

    const std::filesystem::path& directory() const noexcept { return dir_; }

  private:
    std::filesystem::path dir_;
    NodeNameSource node_name_;
    WallTimeSource now_;
    FileSinkOptions options_;
};

}  // namespace planner
