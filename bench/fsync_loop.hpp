#pragma once

/// \file
/// The disk's own number: the minimum a durable, atomic file write costs on a directory, with
/// no planner code at all. Written the way the planner's writer does it (temporary, write,
/// fsync, rename, fsync the directory) so the comparison is like for like.

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

#include "bench_common.hpp"

namespace bench {

struct FsyncLoopResult {
    std::vector<double> latency_us;  ///< per file, open to the directory fsync
    double seconds = 0.0;
};

/// Writes `count` files of `bytes` bytes into `dir` and returns each write's latency. With
/// `fsync` false it measures only the system calls (open, write, close, rename).
inline FsyncLoopResult fsync_loop(const std::filesystem::path& dir, long count, std::size_t bytes,
                                  bool fsync) {
    std::filesystem::create_directories(dir);
    const int dir_fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir_fd < 0) throw std::system_error(errno, std::generic_category(), dir.string());
    const std::string content(bytes, 'x');
    FsyncLoopResult result;
    result.latency_us.reserve(static_cast<std::size_t>(count));
    const auto start = now_ns();
    for (long i = 0; i < count; ++i) {
        const std::string tmp = ".tmp-loop-" + std::to_string(i);
        const std::string name = "loop-" + std::to_string(i) + ".json";
        const auto t0 = now_ns();
        const int fd = ::openat(dir_fd, tmp.c_str(),
                                O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
        if (fd < 0) throw std::system_error(errno, std::generic_category(), "openat");
        if (::write(fd, content.data(), content.size()) != static_cast<ssize_t>(content.size())) {
            throw std::system_error(errno, std::generic_category(), "write");
        }
        if (fsync && ::fsync(fd) != 0) throw std::system_error(errno, std::generic_category());
        ::close(fd);
        if (::renameat(dir_fd, tmp.c_str(), dir_fd, name.c_str()) != 0) {
            throw std::system_error(errno, std::generic_category(), "renameat");
        }
        if (fsync && ::fsync(dir_fd) != 0) throw std::system_error(errno, std::generic_category());
        result.latency_us.push_back(static_cast<double>(now_ns() - t0) / 1000.0);
    }
    result.seconds = seconds_between(start, now_ns());
    ::close(dir_fd);
    return result;
}

}  // namespace bench
