#include "file_io.hpp"

#include <fcntl.h>
#include <stdio.h>  // renameat2, RENAME_NOREPLACE (glibc >= 2.28 with _GNU_SOURCE)
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <stdexcept>
#include <system_error>

#include "planner/file_sinks.hpp"  // kTempFilePrefix

namespace planner::detail {

void throw_errno(const std::string& what) {
    throw std::system_error(errno, std::generic_category(), what);
}

BoundedRead read_bounded(int fd, std::size_t max_bytes) {
    BoundedRead out;
    char buf[16384];
    for (;;) {
        const ssize_t n = ::read(fd, buf, sizeof buf);
        if (n < 0) {
            if (errno == EINTR) continue;
            out.error = errno;
            return out;
        }
        if (n == 0) return out;
        out.text.append(buf, static_cast<std::size_t>(n));
        if (out.text.size() > max_bytes) {
            out.too_large = true;
            return out;
        }
    }
}

UniqueFd open_directory(const std::filesystem::path& path) {
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (fd.get() < 0) throw_errno("cannot open directory " + path.string());
    return fd;
}

std::optional<UniqueFd> lock_existing_file(int dir_fd, const std::string& name,
                                           const std::string& what) {
    for (;;) {
        UniqueFd fd(::openat(dir_fd, name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
        if (fd.get() < 0) {
            if (errno == ENOENT) return std::nullopt;
            throw_errno("cannot open " + what);
        }
        while (::flock(fd.get(), LOCK_EX) != 0) {
            if (errno != EINTR) throw_errno("cannot lock " + what);
        }
        struct stat held {};
        struct stat current {};
        if (::fstat(fd.get(), &held) != 0) throw_errno("cannot stat " + what);
        if (::fstatat(dir_fd, name.c_str(), &current, AT_SYMLINK_NOFOLLOW) != 0) {
            if (errno == ENOENT) return std::nullopt;
            throw_errno("cannot stat " + what);
        }
        if (held.st_ino != current.st_ino || held.st_dev != current.st_dev) continue;
        if (!S_ISREG(held.st_mode)) return std::nullopt;
        return fd;
    }
}

bool is_contained_component(std::string_view name) noexcept {
    return !name.empty() && name.size() <= 255 && name != "." && name != ".." &&
           name.find('/') == std::string_view::npos && name.find('\0') == std::string_view::npos;
}

namespace {

void write_all(int fd, std::string_view content, const std::string& shown) {
    while (!content.empty()) {
        const ssize_t n = ::write(fd, content.data(), content.size());
        if (n < 0) {
            if (errno == EINTR) continue;
            throw_errno("cannot write " + shown);
        }
        content.remove_prefix(static_cast<std::size_t>(n));
    }
}

/// Distinguishes temporaries of concurrent writers in one process; the pid separates processes.
std::atomic<std::uint64_t> g_temp_sequence{0};

/// What a writer does when the file exists already.
enum class Existing { replace, keep };

/// Moves the temporary `temp` to `name`, never over an existing `name`: false when it exists.
bool rename_no_replace(int dir_fd, const std::string& temp, const std::string& name,
                       const std::string& shown) {
    if (::renameat2(dir_fd, temp.c_str(), dir_fd, name.c_str(), RENAME_NOREPLACE) == 0) {
        return true;
    }
    if (errno == EEXIST) return false;
    if (errno != EINVAL && errno != ENOSYS) throw_errno("cannot rename into " + shown);
    // The file system cannot rename without replacing: a hard link cannot replace either.
    if (::linkat(dir_fd, temp.c_str(), dir_fd, name.c_str(), 0) == 0) {
        ::unlinkat(dir_fd, temp.c_str(), 0);  // in place; a leftover is cleaned at start
        return true;
    }
    if (errno == EEXIST) return false;
    if (errno != EPERM && errno != EOPNOTSUPP && errno != ENOSYS) {
        throw_errno("cannot link into " + shown);
    }
    // Neither (vfat-like file systems): look, then rename. Two writers of one id within the
    // same instant could still race here, which only a planner sharing the directory can be.
    if (::faccessat(dir_fd, name.c_str(), F_OK, AT_SYMLINK_NOFOLLOW) == 0) return false;
    if (::renameat(dir_fd, temp.c_str(), dir_fd, name.c_str()) != 0) {
        throw_errno("cannot rename into " + shown);
    }
    return true;
}

/// The atomic writer: a fresh temporary, written, fsynced, moved to `name` (replacing it or
/// not, as `existing` says), the directory fsynced. False when `existing` is keep and `name`
/// exists; the temporary is removed on every way out but success.
bool put_file(int dir_fd, std::string_view name, std::string_view content, bool fsync,
              const std::filesystem::path& shown_as, Existing existing) {
    if (!is_contained_component(name) || name.starts_with(kTempFilePrefix)) {
        throw std::invalid_argument("unsafe file name");
    }
    const std::string final_name(name);
    // Errors name the file as the operator knows it; the temporary's name means nothing to them.
    const std::string shown = shown_as.empty() ? final_name : shown_as.string();
    std::string temp_name;
    UniqueFd fd;
    for (int tries = 0; fd.get() < 0; ++tries) {
        temp_name = std::string(kTempFilePrefix) + std::to_string(::getpid()) + "-" +
                    std::to_string(g_temp_sequence.fetch_add(1));
        fd.reset(::openat(dir_fd, temp_name.c_str(),
                          O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644));
        if (fd.get() < 0 && (errno != EEXIST || tries >= 100)) {
            throw_errno("cannot create a temporary file for " + shown);
        }
    }
    try {
        write_all(fd.get(), content, shown);
        if (fsync && ::fsync(fd.get()) != 0) throw_errno("cannot fsync " + shown);
        if (::close(fd.release()) != 0) throw_errno("cannot close " + shown);
        if (existing == Existing::keep) {
            if (!rename_no_replace(dir_fd, temp_name, final_name, shown)) {
                ::unlinkat(dir_fd, temp_name.c_str(), 0);
                return false;
            }
        } else if (::renameat(dir_fd, temp_name.c_str(), dir_fd, final_name.c_str()) != 0) {
            throw_errno("cannot rename into " + shown);
        }
    } catch (...) {
        ::unlinkat(dir_fd, temp_name.c_str(), 0);
        throw;
    }
    if (fsync && ::fsync(dir_fd) != 0) throw_errno("cannot fsync the directory of " + shown);
    return true;
}

}  // namespace

void write_file_atomically(int dir_fd, std::string_view name, std::string_view content, bool fsync,
                           const std::filesystem::path& shown_as) {
    put_file(dir_fd, name, content, fsync, shown_as, Existing::replace);
}

bool create_file_atomically(int dir_fd, std::string_view name, std::string_view content, bool fsync,
                            const std::filesystem::path& shown_as) {
    return put_file(dir_fd, name, content, fsync, shown_as, Existing::keep);
}

}  // namespace planner::detail
