#pragma once

// The descriptor-based atomic writer behind the file sinks; compiled, internal, not installed.

#include <unistd.h>

#include <filesystem>
#include <string_view>

namespace planner::detail {

/// Owns one file descriptor.
class UniqueFd {
  public:
    explicit UniqueFd(int fd = -1) noexcept : fd_(fd) {}
    UniqueFd(UniqueFd&& other) noexcept : fd_(other.release()) {}
    UniqueFd& operator=(UniqueFd&& other) noexcept {
        if (this != &other) reset(other.release());
        return *this;
    }
    UniqueFd(const UniqueFd&) = delete;
    UniqueFd& operator=(const UniqueFd&) = delete;
    ~UniqueFd() { reset(); }

    int get() const noexcept { return fd_; }
    int release() noexcept {
        const int fd = fd_;
        fd_ = -1;
        return fd;
    }
    void reset(int fd = -1) noexcept {
        if (fd_ >= 0) ::close(fd_);
        fd_ = fd;
    }

  private:
    int fd_;
};

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

/// write_file_atomically for a file that must not exist yet: the temporary takes the name with
/// renameat2(RENAME_NOREPLACE), or where the file system lacks it (EINVAL, ENOSYS: NFS, older
/// kernels) with linkat, which never replaces either. Returns false, with the existing file
/// untouched and the temporary removed, when `name` exists. Throws as write_file_atomically.
bool create_file_atomically(int dir_fd, std::string_view name, std::string_view content,
                            bool fsync = true, const std::filesystem::path& shown_as = {});

}  // namespace planner::detail
