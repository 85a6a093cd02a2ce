#pragma once

/// A real redis-server on a free loopback port, in its own temp dir, with persistence off, for
/// the tests and the benchmarks alike. Restartable on the same port, to test reconnecting;
/// killed by the destructor.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <hiredis/hiredis.h>

#include "support/process.hpp"
#include "support/temp_dir.hpp"

namespace planner::testing {

/// A loopback port that was free a moment ago: bound to port 0, read back, released.
inline int free_loopback_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) throw std::runtime_error("socket failed");
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
        ::close(fd);
        throw std::runtime_error("could not find a free loopback port");
    }
    ::close(fd);
    return ntohs(addr.sin_port);
}

/// Subscribers of `channel` as Redis sees them (PUBSUB NUMSUB), -1 on error: the honest "is it
/// subscribed yet" signal, whatever a program says in its logs.
inline long long redis_subscribers(redisContext* c, const std::string& channel) {
    auto* reply = static_cast<redisReply*>(
        redisCommand(c, "PUBSUB NUMSUB %b", channel.data(), channel.size()));
    if (reply == nullptr) return -1;
    long long n = -1;
    if (reply->type == REDIS_REPLY_ARRAY && reply->elements == 2 &&
        reply->element[1]->type == REDIS_REPLY_INTEGER) {
        n = reply->element[1]->integer;
    }
    freeReplyObject(reply);
    return n;
}

struct RedisServerOptions {
    /// Appended to redis-server's command line, e.g. a lower client-output-buffer-limit.
    std::vector<std::string> extra_args{};
    std::string binary = "redis-server";
    /// See ProcessOptions::die_with_parent: the benchmarks' servers die with them.
    bool die_with_parent = false;
};

class RedisServer {
  public:
    explicit RedisServer(std::vector<std::string> extra_args = {})
        : RedisServer(RedisServerOptions{std::move(extra_args)}) {}
    explicit RedisServer(RedisServerOptions options)
        : port_(free_loopback_port()), options_(std::move(options)) {
        start();
    }
    ~RedisServer() { stop(); }
    RedisServer(const RedisServer&) = delete;
    RedisServer& operator=(const RedisServer&) = delete;

    int port() const noexcept { return port_; }
    std::string url() const { return "redis://127.0.0.1:" + std::to_string(port_) + "/0"; }
    /// The server's pid while it runs, -1 after stop(): to freeze it with SIGSTOP.
    pid_t pid() const noexcept { return process_ ? process_->pid() : -1; }

    /// Starts on the same port as before and waits until PING answers.
    void start() {
        std::vector<std::string> argv{options_.binary,
                                      "--port",
                                      std::to_string(port_),
                                      "--bind",
                                      "127.0.0.1",
                                      "--save",
                                      "",
                                      "--appendonly",
                                      "no",
                                      "--dir",
                                      dir_.path().string()};
        argv.insert(argv.end(), options_.extra_args.begin(), options_.extra_args.end());
        process_ = std::make_unique<Process>(ProcessOptions{
            .argv = std::move(argv),
            .stdout_stream = dir_ / "redis.log",
            .stderr_stream = dir_ / "redis.err",
            .die_with_parent = options_.die_with_parent,
        });
        // A server that exited (port taken, bad argument) fails at once, not after a timeout.
        if (!eventually([this] { return ping() || !process_->running(); }) || !ping()) {
            throw std::runtime_error("redis-server did not answer PING on port " +
                                     std::to_string(port_) + ": " + read_text(dir_ / "redis.log"));
        }
    }

    void stop() {
        if (!process_) return;
        process_->signal(SIGKILL);  // a crash, as far as clients can tell
        process_->wait(std::chrono::seconds{10});
        process_.reset();
    }

    /// What redis-server logged (its stdout), e.g. why it closed a client.
    std::string log_text() const { return read_text(dir_ / "redis.log"); }

    /// PUBLISH; returns how many subscribers received the message, -1 on error.
    long long publish(const std::string& channel, const std::string& message) const {
        auto c = connect();
        if (!c) return -1;
        auto* reply =
            static_cast<redisReply*>(redisCommand(c.get(), "PUBLISH %b %b", channel.data(),
                                                  channel.size(), message.data(), message.size()));
        if (reply == nullptr) return -1;
        const long long n = reply->type == REDIS_REPLY_INTEGER ? reply->integer : -1;
        freeReplyObject(reply);
        return n;
    }

    /// PUBLISHes every message over one pipelined connection; returns how many were accepted.
    std::size_t publish_many(const std::string& channel,
                             const std::vector<std::string>& messages) const {
        auto c = connect();
        if (!c) return 0;
        for (const auto& m : messages) {
            redisAppendCommand(c.get(), "PUBLISH %b %b", channel.data(), channel.size(), m.data(),
                               m.size());
        }
        std::size_t ok = 0;
        for (std::size_t i = 0; i < messages.size(); ++i) {
            void* raw = nullptr;
            if (redisGetReply(c.get(), &raw) != REDIS_OK) break;
            auto* reply = static_cast<redisReply*>(raw);
            if (reply->type == REDIS_REPLY_INTEGER) ++ok;
            freeReplyObject(reply);
        }
        return ok;
    }

    /// Subscribers of `channel` right now: to wait until the planner listens. -1 on error.
    long long subscribers(const std::string& channel) const {
        auto c = connect();
        return c ? redis_subscribers(c.get(), channel) : -1;
    }

    struct ContextFree {
        void operator()(redisContext* c) const { redisFree(c); }
    };
    using ContextPtr = std::unique_ptr<redisContext, ContextFree>;

    /// A new client connection, or null when the server does not answer.
    ContextPtr connect() const {
        const timeval timeout{2, 0};
        ContextPtr c(redisConnectWithTimeout("127.0.0.1", port_, timeout));
        if (!c || c->err) return nullptr;
        return c;
    }

  private:
    bool ping() const {
        auto c = connect();
        if (!c) return false;
        auto* reply = static_cast<redisReply*>(redisCommand(c.get(), "PING"));
        const bool ok = reply != nullptr && reply->type == REDIS_REPLY_STATUS;
        if (reply) freeReplyObject(reply);
        return ok;
    }

    TempDir dir_;
    int port_;
    RedisServerOptions options_;
    std::unique_ptr<Process> process_;
};

}  // namespace planner::testing
