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

namespace detail {

/// True when `name` is one path component that stays inside its directory: non-empty, at most
/// 255 bytes, not `.` or `..`, no `/` and no NUL.
bool is_contained_component(std::string_view name) noexcept;

/// Writes `content` as `name` inside the directory `dir_fd`, so that a reader sees either
/// nothing or the whole file and a crash never leaves a partial file under `name`: a fresh
/// temporary (O_CREAT|O_EXCL|O_NOFOLLOW) in the same directory, written, fsynced, renamed over
/// `name`, then the directory fsynced. Throws std::system_error, naming the file `shown_as`
/// (default: `name`), or std::invalid_argument.
void write_file_atomically(int dir_fd, std::string_view name, std::string_view content,
                           bool fsync = true, const std::filesystem::path& shown_as = {});

}  // namespace detail

/// Removes the writer's temporaries (`.tmp-*` regular files) that a crash left in `dir` and in
/// its subdirectories up to `max_depth` levels down; symlinks are never followed. Returns the
/// number removed.
std::size_t remove_stale_temporaries(const std::filesystem::path& dir, int max_depth = 0);

/// Creates `dir` if missing and checks that files can be created in it. Throws
/// std::system_error with a one-line reason otherwise.
void prepare_output_directory(const std::filesystem::path& dir);

/// `<dir>/<action_id>.json`, exactly `ActionProposal::to_action_file()`.
class FileActionSink final : public ActionSink {
  public:
    /// Creates `dir` if needed and removes stale temporaries. Throws std::system_error.
    explicit FileActionSink(std::filesystem::path dir, FileSinkOptions options = {});

    /// Throws std::invalid_argument for an action id that is not a safe file name (make_action_id
    /// never produces one), std::system_error when the file cannot be written.
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
