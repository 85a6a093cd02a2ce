#pragma once

/// Child processes for integration tests: redis-server and planner-run. Each is killed by its
/// owner's destructor, so a failing test leaves nothing running.

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

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

struct ProcessOptions {
    std::vector<std::string> argv;
    std::vector<std::pair<std::string, std::string>> env;  ///< set on top of the parent's
    std::vector<std::string> unset_env;
    std::filesystem::path stdin_file;  ///< empty: /dev/null
    std::filesystem::path stdout_file;
    std::filesystem::path stderr_file;
};

class Process {
  public:
    explicit Process(const ProcessOptions& o) {
        std::vector<char*> args;
        for (const auto& a : o.argv) args.push_back(const_cast<char*>(a.c_str()));
        args.push_back(nullptr);
        pid_ = ::fork();
        if (pid_ < 0) throw std::runtime_error("fork failed");
        if (pid_ == 0) {
            auto redirect = [](const std::filesystem::path& p, int target, int flags) {
                const std::string path = p.empty() ? "/dev/null" : p.string();
                const int fd = ::open(path.c_str(), flags, 0644);
                if (fd >= 0) ::dup2(fd, target);
            };
            redirect(o.stdin_file, STDIN_FILENO, O_RDONLY);
            redirect(o.stdout_file, STDOUT_FILENO, O_WRONLY | O_CREAT | O_TRUNC);
            redirect(o.stderr_file, STDERR_FILENO, O_WRONLY | O_CREAT | O_TRUNC);
            for (const auto& name : o.unset_env) ::unsetenv(name.c_str());
            for (const auto& [name, value] : o.env) ::setenv(name.c_str(), value.c_str(), 1);
            // The test runner may block signals in its threads; the child starts clean.
            sigset_t none;
            sigemptyset(&none);
            ::sigprocmask(SIG_SETMASK, &none, nullptr);
            ::execvp(args[0], args.data());
            ::_exit(127);
        }
    }
    ~Process() {
        if (running()) {
            ::kill(pid_, SIGKILL);
            wait(std::chrono::seconds{10});
        }
    }
    Process(const Process&) = delete;
    Process& operator=(const Process&) = delete;

    bool running() const { return pid_ > 0 && !status_; }
    pid_t pid() const { return pid_; }
    void signal(int sig) const {
        if (running()) ::kill(pid_, sig);
    }

    /// The exit code (128+signal when killed by one), or nullopt after `timeout`.
    std::optional<int> wait(std::chrono::milliseconds timeout) {
        if (status_) return status_;
        const auto deadline = std::chrono::steady_clock::now() + timeout;
        for (;;) {
            int raw = 0;
            const pid_t r = ::waitpid(pid_, &raw, WNOHANG);
            if (r == pid_) {
                status_ = WIFEXITED(raw) ? WEXITSTATUS(raw) : 128 + WTERMSIG(raw);
                return status_;
            }
            if (std::chrono::steady_clock::now() > deadline) return std::nullopt;
            std::this_thread::sleep_for(std::chrono::milliseconds{5});
        }
    }

  private:
    pid_t pid_ = -1;
    std::optional<int> status_;
};

}  // namespace planner::testing
