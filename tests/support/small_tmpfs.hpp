#pragma once

/// A tiny tmpfs, to run out of disk space for real (ENOSPC) without touching the machine's
/// disks. It is mounted in a mount namespace of this test process alone, so nothing else on the
/// machine sees it and the kernel removes it when the process exits, even after a crash. Child
/// processes started afterwards (planner-run) inherit the namespace and see the same mount.

#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

namespace planner::testing {

namespace tmpfs_detail {

inline bool write_proc_file(const char* path, const std::string& text) {
    const int fd = ::open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0) return false;
    const bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
    ::close(fd);
    return ok;
}

/// Moves this process into its own mount namespace: directly with CAP_SYS_ADMIN, otherwise
/// through a user namespace where it is root (kernels that allow unprivileged ones).
inline std::string enter_private_mount_namespace() {
    if (::unshare(CLONE_NEWNS) != 0) {
        const int direct = errno;
        const uid_t uid = ::geteuid();
        const gid_t gid = ::getegid();
        if (::unshare(CLONE_NEWUSER | CLONE_NEWNS) != 0) {
            return std::string("unshare: ") + std::strerror(direct) +
                   ", in a user namespace: " + std::strerror(errno);
        }
        if (!write_proc_file("/proc/self/setgroups", "deny") ||
            !write_proc_file("/proc/self/uid_map", "0 " + std::to_string(uid) + " 1") ||
            !write_proc_file("/proc/self/gid_map", "0 " + std::to_string(gid) + " 1")) {
            return "cannot map ids in the user namespace";
        }
    }
    // Without this, a mount could propagate back to the machine's namespace.
    if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) {
        return std::string("cannot make mounts private: ") + std::strerror(errno);
    }
    return {};
}

}  // namespace tmpfs_detail

class SmallTmpfs {
  public:
    /// Mounts a tmpfs of `bytes` at `dir`, creating it. When the machine does not allow it,
    /// mounted() is false and error() says why.
    SmallTmpfs(std::filesystem::path dir, std::size_t bytes) : dir_(std::move(dir)) {
        std::filesystem::create_directories(dir_);
        error_ = tmpfs_detail::enter_private_mount_namespace();
        if (!error_.empty()) return;
        const std::string options = "size=" + std::to_string(bytes) + ",mode=0755";
        if (::mount("tmpfs", dir_.c_str(), "tmpfs", MS_NOSUID | MS_NODEV, options.c_str()) != 0) {
            error_ = std::string("mount tmpfs: ") + std::strerror(errno);
            return;
        }
        mounted_ = true;
    }
    ~SmallTmpfs() {
        if (mounted_) ::umount2(dir_.c_str(), MNT_DETACH);
    }
    SmallTmpfs(const SmallTmpfs&) = delete;
    SmallTmpfs& operator=(const SmallTmpfs&) = delete;

    bool mounted() const noexcept { return mounted_; }
    const std::string& error() const noexcept { return error_; }
    const std::filesystem::path& path() const noexcept { return dir_; }

    /// Remounts read-only or back to read-write: a fault even root cannot write through.
    /// Returns an empty string on success, else why it failed. A read-only remount fails with
    /// EBUSY while any process still has a file open for writing on it (the planner closing a
    /// file it has just renamed), so that one error is retried for up to `busy_for`.
    std::string set_read_only(bool read_only,
                              std::chrono::milliseconds busy_for = std::chrono::seconds(10)) const {
        unsigned long flags = MS_REMOUNT | MS_NOSUID | MS_NODEV;
        if (read_only) flags |= MS_RDONLY;
        const auto give_up = std::chrono::steady_clock::now() + busy_for;
        for (;;) {
            if (::mount(nullptr, dir_.c_str(), nullptr, flags, nullptr) == 0) return {};
            const int err = errno;
            if (err != EBUSY || std::chrono::steady_clock::now() >= give_up) {
                return std::string("remount ") + (read_only ? "ro" : "rw") + ": " +
                       std::strerror(err);
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
    }

    /// Writes `file` until the file system is full; returns the errno that stopped it
    /// (ENOSPC when it filled up as intended).
    static int fill(const std::filesystem::path& file) {
        const int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0) return errno;
        const std::vector<char> block(4096, 'f');
        int stopped = 0;
        for (;;) {
            const ssize_t n = ::write(fd, block.data(), block.size());
            if (n < 0) {
                if (errno == EINTR) continue;
                stopped = errno;
                break;
            }
        }
        ::close(fd);
        return stopped;
    }

  private:
    std::filesystem::path dir_;
    std::string error_;
    bool mounted_ = false;
};

}  // namespace planner::testing
