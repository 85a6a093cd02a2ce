#pragma once

/// A real redis-server on a free loopback port, in its own temp dir, with persistence off.
/// Restartable on the same port, to test reconnecting; killed by the destructor.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <memory>
#include <string>
#include <vector>

#include <hiredis/hiredis.h>

#include "support/process.hpp"
#include "support/temp_dir.hpp"

namespace planner::testing {

/// A loopback port that was free a moment ago: bound to port 0, read back, released.
inline int free_loopback_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    socklen_t len = sizeof addr;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    ::close(fd);
    return ntohs(addr.sin_port);
}

class RedisServer {
  public:
    /// `extra_args` are appended to redis-server's command line, e.g. a lower
    /// client-output-buffer-limit.
    explicit RedisServer(std::vector<std::string> extra_args = {})
        : port_(free_loopback_port()), extra_args_(std::move(extra_args)) {
        start();
    }
    ~RedisServer() { stop(); }
    RedisServer(const RedisServer&) = delete;
    RedisServer& operator=(const RedisServer&) = delete;

    int port() const noexcept { return port_; }
    std::string url() const { return "redis://127.0.0.1:" + std::to_string(port_) + "/0"; }

    /// Starts on the same port as before and waits until PING answers.
    void start() {
        std::vector<std::string> argv{"redis-server",
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
        argv.insert(argv.end(), extra_args_.begin(), extra_args_.end());
        process_ = std::make_unique<Process>(ProcessOptions{.argv = std::move(argv),
                                                            .stdout_stream = dir_ / "redis.log",
                                                            .stderr_stream = dir_ / "redis.err"});
        if (!eventually([this] { return ping(); })) {
            throw std::runtime_error("redis-server did not answer PING on port " +
                                     std::to_string(port_));
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

    /// Subscribers of `channel` right now (PUBSUB NUMSUB): to wait until the planner listens.
    long long subscribers(const std::string& channel) const {
        auto c = connect();
        if (!c) return -1;
        auto* reply = static_cast<redisReply*>(
            redisCommand(c.get(), "PUBSUB NUMSUB %b", channel.data(), channel.size()));
        if (reply == nullptr) return -1;
        long long n = -1;
        if (reply->type == REDIS_REPLY_ARRAY && reply->elements == 2 &&
            reply->element[1]->type == REDIS_REPLY_INTEGER) {
            n = reply->element[1]->integer;
        }
        freeReplyObject(reply);
        return n;
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
    std::vector<std::string> extra_args_;
    std::unique_ptr<Process> process_;
};

}  // namespace planner::testing
