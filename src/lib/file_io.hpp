#pragma once

// The file primitives the sinks and stores share; compiled, internal, not installed. The
// atomic writer is declared in atomic_file.hpp and implemented in file_io.cpp.

#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>

#include "atomic_file.hpp"

namespace planner::detail {

/// Throws std::system_error for the current errno, `what` naming the operation and the file.
[[noreturn]] void throw_errno(const std::string& what);

/// What read_bounded read: the whole text, or why not.
struct BoundedRead {
    std::string text;
    int error = 0;           ///< errno of the read that failed, else 0
    bool too_large = false;  ///< stopped once it held more than `max_bytes`
    explicit operator bool() const noexcept { return error == 0 && !too_large; }
};

/// The whole content of `fd` from its current offset. Stops at a read error or once it holds
/// more than `max_bytes` (a file that large is not what the caller reads). Retries EINTR. The
/// one read loop of the action store, the silences, the configuration and the key files.
BoundedRead read_bounded(int fd, std::size_t max_bytes);

/// `path` opened O_RDONLY|O_DIRECTORY|O_CLOEXEC; throws std::system_error naming it.
UniqueFd open_directory(const std::filesystem::path& path);

/// The regular file `name` in `dir_fd`, held under an exclusive flock on the inode that is
/// `name` right now: a writer that renamed a new file over it meanwhile is noticed (the inode
/// changed) and the open is retried. nullopt when `name` does not exist or is not a regular
/// file. Throws std::system_error (`what` names the file for the message).
std::optional<UniqueFd> lock_existing_file(int dir_fd, const std::string& name,
                                           const std::string& what);

}  // namespace planner::detail
