#pragma once

/// Child processes for the integration tests and the benchmarks: redis-server, planner-run and
/// the benchmark helpers. One helper for both, so the two cannot drift apart.
///
/// posix_spawn, not fork: the test and benchmark programs run threads (model servers, Redis
/// publishers), and after fork in a threaded process only async-signal-safe calls are allowed,
/// which setenv, malloc and friends are not. So everything the child needs (argv, the whole
/// environment as envp, its file redirections) is built here, before spawning, and the child
/// only execs.

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

/// The parent's environment; <unistd.h> declares it only under _GNU_SOURCE.
extern char** environ;

namespace planner::testing {

/// Polls `done` until it holds or `timeout` passes: waiting for another process, which has no
/// condition variable to wait on. Returns the last result.
inline bool eventually(const std::function<bool()>& done,
                       std::chrono::milliseconds timeout = std::chrono::seconds{15}) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!done()) {
        if (std::chrono::steady_clock::now() > deadline) return false;
        std::this_thread::sleep_for(std::chrono::milliseconds{10});
    }
    return true;
}

/// Where one standard stream of the child goes. A path converts implicitly, so `{}` or an empty
/// path is /dev/null: a test's child writes nowhere unless asked.
class Stream {
  public:
    enum class Kind { null, file, inherit, pipe };

    Stream() = default;
    Stream(std::filesystem::path file)  // NOLINT: implicit, a path is the common case
        : kind_(file.empty() ? Kind::null : Kind::file), file_(std::move(file)) {}
    Stream(const char* file) : Stream(std::filesystem::path(file)) {}         // NOLINT: as above
    Stream(const std::string& file) : Stream(std::filesystem::path(file)) {}  // NOLINT: as above

    /// The parent's own stream: a benchmark helper's errors reach the terminal.
    static Stream inherit() { return Stream(Kind::inherit); }
    /// A pipe whose read end the parent keeps (Process::stdout_fd / read_stdout).
    static Stream pipe() { return Stream(Kind::pipe); }

    Kind kind() const noexcept { return kind_; }
    const std::filesystem::path& file() const noexcept { return file_; }

  private:
    explicit Stream(Kind kind) : kind_(kind) {}
    Kind kind_ = Kind::null;
    std::filesystem::path file_;
};

/// Meant for designated initializers; the `{}` defaults keep GCC's -Wmissing-field-initializers
/// quiet about the members a caller leaves out.
struct ProcessOptions {
    std::vector<std::string> argv{};                         ///< argv[0] is looked up in PATH
    std::vector<std::pair<std::string, std::string>> env{};  ///< set on top of the parent's
    std::vector<std::string> unset_env{};                    ///< removed from the parent's
    Stream stdin_stream{};                                   ///< read; default /dev/null
    Stream stdout_stream{};
    Stream stderr_stream{};
    /// Start from an empty environment instead of the parent's (then only `env` is set).
    bool clear_env = false;
    /// The kernel kills the child (SIGKILL) when this process dies, whatever kills it, so an
    /// interrupted benchmark leaves nothing running. posix_spawn cannot set PR_SET_PDEATHSIG
    /// itself, so the child is started through util-linux's `setpriv --pdeathsig`, which sets
    /// it and execs the program in the same process (same pid).
    bool die_with_parent = false;
    /// On destruction: SIGTERM and up to this long for the child to exit, then SIGKILL.
    /// Zero: SIGKILL at once, a crash as far as the child's peers can tell.
    std::chrono::milliseconds stop_grace{0};
};

/// The environment a child gets: the parent's (unless `clear`), without `unset` and with `set`
/// replacing or adding, as "NAME=value" strings.
inline std::vector<std::string> child_environment(
    const std::vector<std::pair<std::string, std::string>>& set,
    const std::vector<std::string>& unset, bool clear) {
    auto named = [](const std::string& entry, const std::string& name) {
        return entry.size() > name.size() && entry.compare(0, name.size(), name) == 0 &&
               entry[name.size()] == '=';
    };
    std::vector<std::string> out;
    for (char** e = clear ? nullptr : environ; e != nullptr && *e != nullptr; ++e) {
        const std::string entry = *e;
        const bool dropped = std::any_of(unset.begin(), unset.end(),
                                         [&](const std::string& n) { return named(entry, n); }) ||
                             std::any_of(set.begin(), set.end(),
                                         [&](const auto& kv) { return named(entry, kv.first); });
        if (!dropped) out.push_back(entry);
    }
    for (const auto& [name, value] : set) out.push_back(name + "=" + value);
    return out;
}

/// One child process, killed by the destructor so a failing test or benchmark leaves nothing
/// running. Not movable: the pid belongs to exactly one owner (hold it in a unique_ptr).
class Process {
  public:
    explicit Process(const ProcessOptions& o) : stop_grace_(o.stop_grace) {
        if (o.argv.empty()) throw std::invalid_argument("Process: empty argv");
        std::vector<std::string> argv;
        if (o.die_with_parent) argv = {"setpriv", "--pdeathsig", "KILL", "--"};
        argv.insert(argv.end(), o.argv.begin(), o.argv.end());
        const auto envs = child_environment(o.env, o.unset_env, o.clear_env);

        Spawn spawn;
        int out_pipe[2] = {-1, -1};
        int err_pipe[2] = {-1, -1};
        try {
            spawn.redirect(o.stdin_stream, STDIN_FILENO, O_RDONLY, nullptr);
            spawn.redirect(o.stdout_stream, STDOUT_FILENO, O_WRONLY | O_CREAT | O_TRUNC, &out_pipe);
            spawn.redirect(o.stderr_stream, STDERR_FILENO, O_WRONLY | O_CREAT | O_TRUNC, &err_pipe);
            started_ = std::chrono::steady_clock::now();
            const int rc = ::posix_spawnp(&pid_, argv[0].c_str(), &spawn.actions, &spawn.attr,
                                          pointers(argv).data(), pointers(envs).data());
            if (rc != 0) {
                pid_ = -1;
                throw std::runtime_error("cannot start " + argv[0] + ": " + std::strerror(rc));
            }
        } catch (...) {
            for (const int fd : {out_pipe[0], out_pipe[1], err_pipe[0], err_pipe[1]}) {
                if (fd >= 0) ::close(fd);
            }
            throw;
        }
        // The write ends now belong to the child alone, so the parent sees EOF when it exits.
        if (out_pipe[1] >= 0) ::close(out_pipe[1]);
        if (err_pipe[1] >= 0) ::close(err_pipe[1]);
        stdout_fd_ = out_pipe[0];
        stderr_fd_ = err_pipe[0];
    }
    ~Process() {
        if (stop_grace_.count() > 0) {
            stop(stop_grace_);
        } else if (running()) {
            ::kill(pid_, SIGKILL);
            wait(std::chrono::seconds{10});
        }
        for (const int fd : {stdout_fd_, stderr_fd_}) {
            if (fd >= 0) ::close(fd);
        }
    }
    Process(const Process&) = delete;
    Process& operator=(const Process&) = delete;

    pid_t pid() const noexcept { return pid_; }
    /// When posix_spawn was called: the "exec" instant of exec-to-ready figures.
    std::chrono::steady_clock::time_point started() const noexcept { return started_; }

    /// Whether the child has not exited yet; reaps it when it has.
    bool running() { return pid_ > 0 && !status_ && !reap(); }

    /// Sends `sig` unless the child was already reaped (its pid may belong to another process
    /// by then). Returns whether it was sent.
    bool signal(int sig) const { return pid_ > 0 && !status_ && ::kill(pid_, sig) == 0; }

    /// The exit code (128+signal when a signal ended it), or nullopt if the child still runs
    /// after `timeout`.
    std::optional<int> wait(std::chrono::milliseconds timeout) {
        const auto deadline = std::chrono::steady_clock::now() + timeout;
        while (running()) {
            if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
            std::this_thread::sleep_for(std::chrono::milliseconds{2});
        }
        return status_;
    }

    /// SIGTERM, up to `grace` to exit, then SIGKILL. Returns the exit code as wait() does.
    std::optional<int> stop(std::chrono::milliseconds grace = std::chrono::seconds{5}) {
        if (signal(SIGTERM)) {
            if (const auto code = wait(grace)) return code;
        }
        if (signal(SIGKILL)) return wait(std::chrono::seconds{5});
        return status_;
    }

    /// Read ends of Stream::pipe() redirections, -1 otherwise; owned (closed) by this object.
    int stdout_fd() const noexcept { return stdout_fd_; }
    int stderr_fd() const noexcept { return stderr_fd_; }
    /// Everything the child writes to a piped stdout/stderr, up to EOF (its exit, usually).
    std::string read_stdout() const { return read_to_eof(stdout_fd_); }
    std::string read_stderr() const { return read_to_eof(stderr_fd_); }

  private:
    /// posix_spawn's attribute and file-action objects, destroyed however the constructor ends.
    struct Spawn {
        posix_spawnattr_t attr;
        posix_spawn_file_actions_t actions;
        Spawn() {
            ::posix_spawnattr_init(&attr);
            ::posix_spawn_file_actions_init(&actions);
            // The test runner may block signals in its threads; the child starts clean.
            sigset_t none;
            sigemptyset(&none);
            ::posix_spawnattr_setsigmask(&attr, &none);
            ::posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK);
        }
        ~Spawn() {
            ::posix_spawn_file_actions_destroy(&actions);
            ::posix_spawnattr_destroy(&attr);
        }
        Spawn(const Spawn&) = delete;
        Spawn& operator=(const Spawn&) = delete;

        void redirect(const Stream& s, int target, int flags, int (*pipe_fds)[2]) {
            switch (s.kind()) {
                case Stream::Kind::inherit:
                    return;
                case Stream::Kind::null:
                    ::posix_spawn_file_actions_addopen(&actions, target, "/dev/null", flags, 0644);
                    return;
                case Stream::Kind::file:
                    ::posix_spawn_file_actions_addopen(&actions, target, s.file().c_str(), flags,
                                                       0644);
                    return;
                case Stream::Kind::pipe:
                    if (pipe_fds == nullptr) throw std::invalid_argument("stdin cannot be a pipe");
                    // O_CLOEXEC: the child keeps only its dup2'd copy, never the read end.
                    if (::pipe2(*pipe_fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe2");
                    ::posix_spawn_file_actions_adddup2(&actions, (*pipe_fds)[1], target);
                    return;
            }
        }
    };

    /// NUL-terminated pointers into `strings`, which must outlive them.
    static std::vector<char*> pointers(const std::vector<std::string>& strings) {
        std::vector<char*> out;
        for (const auto& s : strings) out.push_back(const_cast<char*>(s.c_str()));
        out.push_back(nullptr);
        return out;
    }

    static std::string read_to_eof(int fd) {
        std::string out;
        if (fd < 0) return out;
        char buf[4096];
        for (;;) {
            const ssize_t n = ::read(fd, buf, sizeof buf);
            if (n > 0) {
                out.append(buf, static_cast<std::size_t>(n));
            } else if (n == 0 || errno != EINTR) {
                return out;
            }
        }
    }

    /// waitpid without blocking; true once the exit status is known.
    bool reap() {
        int raw = 0;
        if (::waitpid(pid_, &raw, WNOHANG) != pid_) return false;
        status_ = WIFEXITED(raw) ? WEXITSTATUS(raw) : 128 + WTERMSIG(raw);
        return true;
    }

    pid_t pid_ = -1;
    std::optional<int> status_;
    std::chrono::milliseconds stop_grace_;
    std::chrono::steady_clock::time_point started_;
    int stdout_fd_ = -1;
    int stderr_fd_ = -1;
};

}  // namespace planner::testing
