#pragma once

/// \file
/// Child processes and a private redis-server for the benchmarks that drive real programs.
/// Every child is killed when its handle goes out of scope, and by the kernel (PDEATHSIG) if
/// the benchmark itself dies, so no run leaves a redis-server or planner-run behind.

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <hiredis/hiredis.h>

#include "bench_common.hpp"

namespace bench {

/// A running child process; SIGTERM, then SIGKILL after a grace period, on destruction.
class Child {
  public:
    Child() = default;
    /// Starts `argv` with stdout and stderr sent to the given files ("" keeps ours).
    Child(const std::vector<std::string>& argv, const std::string& stdout_path = "",
          const std::string& stderr_path = "") {
        std::vector<char*> cargv;
        for (const auto& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
        cargv.push_back(nullptr);
        const pid_t parent = getpid();
        started_ns_ = now_ns();
        pid_ = fork();
        if (pid_ < 0) throw std::runtime_error("fork failed");
        if (pid_ == 0) {
            // Dies with the benchmark, whatever kills it.
            prctl(PR_SET_PDEATHSIG, SIGKILL);
            if (getppid() != parent) _exit(127);
            redirect(stdout_path, STDOUT_FILENO);
            redirect(stderr_path, STDERR_FILENO);
            execvp(cargv[0], cargv.data());
            std::fprintf(stderr, "exec %s: %s\n", cargv[0], std::strerror(errno));
            _exit(127);
        }
    }
    Child(Child&& o) noexcept
        : pid_(std::exchange(o.pid_, -1)), status_(o.status_), started_ns_(o.started_ns_) {}
    Child& operator=(Child&& o) noexcept {
        if (this != &o) {
            terminate();
            pid_ = std::exchange(o.pid_, -1);
            status_ = o.status_;
            started_ns_ = o.started_ns_;
        }
        return *this;
    }
    Child(const Child&) = delete;
    Child& operator=(const Child&) = delete;
    ~Child() { terminate(); }

    pid_t pid() const noexcept { return pid_; }
    /// When fork() was called, in now_ns() time: the "exec" instant of exec-to-ready figures.
    std::int64_t started_ns() const noexcept { return started_ns_; }
    bool running() {
        if (pid_ <= 0) return false;
        int status = 0;
        const pid_t r = waitpid(pid_, &status, WNOHANG);
        if (r == pid_) {
            status_ = status;
            pid_ = -1;
            return false;
        }
        return true;
    }

    /// Waits up to `timeout` for the child to exit; returns its exit code, or -1 if it is
    /// still running, or 128+signal if a signal ended it.
    int wait(std::chrono::milliseconds timeout) {
        const auto until = std::chrono::steady_clock::now() + timeout;
        while (running()) {
            if (std::chrono::steady_clock::now() >= until) return -1;
            std::this_thread::sleep_for(std::chrono::milliseconds{2});
        }
        return exit_code();
    }

    /// SIGTERM, wait up to `grace`, then SIGKILL. Returns the exit code as wait() does.
    int terminate(std::chrono::milliseconds grace = std::chrono::milliseconds{5'000}) {
        if (pid_ <= 0) return exit_code();
        ::kill(pid_, SIGTERM);
        if (const int code = wait(grace); code != -1) return code;
        ::kill(pid_, SIGKILL);
        return wait(std::chrono::milliseconds{5'000});
    }

    int exit_code() const {
        if (WIFEXITED(status_)) return WEXITSTATUS(status_);
        if (WIFSIGNALED(status_)) return 128 + WTERMSIG(status_);
        return -1;
    }

  private:
    static void redirect(const std::string& path, int fd) {
        if (path.empty()) return;
        const int out = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (out < 0) _exit(126);
        ::dup2(out, fd);
    }

    pid_t pid_ = -1;
    int status_ = 0;
    std::int64_t started_ns_ = 0;
};

/// A loopback TCP port that was free a moment ago.
inline int free_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) throw std::runtime_error("socket failed");
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    socklen_t len = sizeof addr;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
        ::close(fd);
        throw std::runtime_error("could not find a free port");
    }
    ::close(fd);
    return ntohs(addr.sin_port);
}

struct RedisContextDeleter {
    void operator()(redisContext* c) const noexcept { redisFree(c); }
};
using RedisContextPtr = std::unique_ptr<redisContext, RedisContextDeleter>;

/// A plain synchronous connection, or null when nothing answers yet.
inline RedisContextPtr redis_connect(int port) {
    timeval tv{1, 0};
    RedisContextPtr c(redisConnectWithTimeout("127.0.0.1", port, tv));
    if (!c || c->err != 0) return nullptr;
    redisSetTimeout(c.get(), tv);
    return c;
}

/// One command, as an integer reply; throws when the reply is not one.
inline long long redis_integer(redisContext* c, const char* command) {
    auto* reply = static_cast<redisReply*>(redisCommand(c, command));
    if (reply == nullptr) throw std::runtime_error(std::string("redis: ") + c->errstr);
    const bool ok = reply->type == REDIS_REPLY_INTEGER;
    const long long v = reply->integer;
    freeReplyObject(reply);
    if (!ok) throw std::runtime_error(std::string("redis: no integer reply to ") + command);
    return v;
}

/// Subscribers of `channel` as Redis sees them: the honest "is it subscribed yet" signal,
/// whatever a program says in its logs.
inline long long redis_subscribers(redisContext* c, const std::string& channel) {
    auto* reply = static_cast<redisReply*>(redisCommand(c, "PUBSUB NUMSUB %s", channel.c_str()));
    if (reply == nullptr) throw std::runtime_error(std::string("redis: ") + c->errstr);
    long long n = -1;
    if (reply->type == REDIS_REPLY_ARRAY && reply->elements == 2 &&
        reply->element[1]->type == REDIS_REPLY_INTEGER) {
        n = reply->element[1]->integer;
    }
    freeReplyObject(reply);
    if (n < 0) throw std::runtime_error("redis: unexpected PUBSUB NUMSUB reply");
    return n;
}

/// Polls until `channel` has at least `n` subscribers; returns when that was first seen (now_ns
/// time), or throws after `timeout`.
inline std::int64_t wait_for_subscribers(redisContext* c, const std::string& channel, long long n,
                                         std::chrono::milliseconds timeout) {
    const auto until = std::chrono::steady_clock::now() + timeout;
    while (redis_subscribers(c, channel) < n) {
        if (std::chrono::steady_clock::now() >= until) {
            throw std::runtime_error("timed out waiting for " + std::to_string(n) +
                                     " subscribers on " + channel);
        }
        std::this_thread::sleep_for(std::chrono::microseconds{200});
    }
    return now_ns();
}

/// A private redis-server on a free loopback port, without persistence, killed on
/// destruction. Pub/sub output buffers are unlimited for the benchmark: the default 32 MiB hard
/// limit would disconnect whichever subscriber is momentarily behind a 500 000-event burst,
/// and then the figure would measure Redis's eviction, not the subscriber.
class RedisServer {
  public:
    explicit RedisServer(const std::string& binary = "redis-server") : port_(free_port()) {
        child_ = Child({binary, "--port", std::to_string(port_), "--bind", "127.0.0.1", "--save",
                        "", "--appendonly", "no", "--client-output-buffer-limit", "pubsub 0 0 0",
                        "--loglevel", "warning"},
                       "/dev/null", "/dev/null");
        const auto until = std::chrono::steady_clock::now() + std::chrono::seconds{10};
        while (!(control_ = redis_connect(port_))) {
            if (!child_.running() || std::chrono::steady_clock::now() >= until) {
                throw std::runtime_error("redis-server did not start on port " +
                                         std::to_string(port_));
            }
            std::this_thread::sleep_for(std::chrono::milliseconds{10});
        }
    }

    int port() const noexcept { return port_; }
    std::string url() const { return "redis://127.0.0.1:" + std::to_string(port_); }
    redisContext* control() const noexcept { return control_.get(); }

  private:
    int port_;
    Child child_;
    RedisContextPtr control_;
};

/// The whole file, or "" when it cannot be read.
inline std::string read_file(const std::filesystem::path& path) {
    std::ifstream in(path);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

/// The last line of `text` that parses as a JSON object, or null.
inline nlohmann::json last_json_line(const std::string& text) {
    std::istringstream in(text);
    std::string line;
    nlohmann::json last;
    while (std::getline(in, line)) {
        auto j = nlohmann::json::parse(line, nullptr, false);
        if (j.is_object()) last = std::move(j);
    }
    return last;
}

/// Number of regular `*.json` files directly in `dir`.
inline std::size_t count_json_files(const std::filesystem::path& dir) {
    std::size_t n = 0;
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
        if (entry.is_regular_file() && entry.path().extension() == ".json") ++n;
    }
    return n;
}

/// Directory of the running program, to find the helper programs built beside it.
inline std::filesystem::path self_dir() {
    return std::filesystem::read_symlink("/proc/self/exe").parent_path();
}

}  // namespace bench
