#include "file_io.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

namespace planner::detail {

namespace {

[[noreturn]] void throw_errno(const std::string& what) {
    throw std::system_error(errno, std::generic_category(), what);
}

}  // namespace

std::optional<std::string> read_bounded(int fd, std::size_t max_bytes) {
    std::string out;
    char buf[8192];
    for (;;) {
        const ssize_t n = ::read(fd, buf, sizeof buf);
        if (n < 0) {
            if (errno == EINTR) continue;
            return std::nullopt;
        }
        if (n == 0) return out;
        out.append(buf, static_cast<std::size_t>(n));
        if (out.size() > max_bytes) return std::nullopt;
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

}  // namespace planner::detail
