#pragma once

// The file primitives the stores share; compiled, internal, not installed. The atomic writer
// they use is declared in atomic_file.hpp and implemented in file_io.cpp.

#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>

#include "atomic_file.hpp"

namespace planner::detail {

/// The whole content of `fd` from its current offset, or nullopt on a read error or once it
/// holds more than `max_bytes` (a file that large is not what the caller reads). Retries EINTR.
std::optional<std::string> read_bounded(int fd, std::size_t max_bytes);

/// `path` opened O_RDONLY|O_DIRECTORY|O_CLOEXEC; throws std::system_error naming it.
UniqueFd open_directory(const std::filesystem::path& path);

/// The regular file `name` in `dir_fd`, held under an exclusive flock on the inode that is
/// `name` right now: a writer that renamed a new file over it meanwhile is noticed (the inode
/// changed) and the open is retried. nullopt when `name` does not exist or is not a regular
/// file. Throws std::system_error (`what` names the file for the message).
std::optional<UniqueFd> lock_existing_file(int dir_fd, const std::string& name,
                                           const std::string& what);

}  // namespace planner::detail
