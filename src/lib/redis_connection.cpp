#include "redis_connection.hpp"

#include <poll.h>
#include <sys/time.h>

#include <algorithm>
#include <cerrno>
#include <thread>

namespace planner::detail {

namespace {

timeval to_timeval(std::chrono::milliseconds ms) {
    timeval tv{};
    tv.tv_sec = static_cast<decltype(tv.tv_sec)>(ms.count() / 1000);
    tv.tv_usec = static_cast<decltype(tv.tv_usec)>((ms.count() % 1000) * 1000);
    return tv;
}

}  // namespace

std::string context_error(const redisContext* c, std::string_view during) {
    std::string msg(during);
    if (c != nullptr && c->err != 0) {
        msg += ": ";
        msg += c->errstr;
    }
    return msg;
}

void append_command(redisContext* c, const std::vector<std::string>& args,
                    std::string_view during) {
    std::vector<const char*> argv;
    std::vector<std::size_t> lens;
    argv.reserve(args.size());
    lens.reserve(args.size());
    for (const auto& a : args) {
        argv.push_back(a.data());
        lens.push_back(a.size());
    }
    if (redisAppendCommandArgv(c, static_cast<int>(argv.size()), argv.data(), lens.data()) !=
        REDIS_OK) {
        throw ConnectionLost(context_error(c, during));
    }
}

RedisReplyPtr redis_command(redisContext* c, const std::vector<std::string>& args,
                            std::string_view during) {
    append_command(c, args, during);
    void* raw = nullptr;
    if (redisGetReply(c, &raw) != REDIS_OK || raw == nullptr) {
        throw ConnectionLost(context_error(c, during));
    }
    RedisReplyPtr reply(static_cast<redisReply*>(raw));
    if (reply->type == REDIS_REPLY_ERROR) {
        // Redis's own error text (e.g. WRONGPASS) names no secret.
        throw RedisError(std::string(during) + ": " + std::string(reply_text(reply.get())));
    }
    return reply;
}

RedisContextPtr redis_connect(const RedisUrl& url, std::chrono::milliseconds timeout) {
    const timeval tv = to_timeval(timeout);
    RedisContextPtr c(url.unix_socket.empty()
                          ? redisConnectWithTimeout(url.host.c_str(), url.port, tv)
                          : redisConnectUnixWithTimeout(url.unix_socket.c_str(), tv));
    if (!c) throw ConnectionLost("connect: out of memory");
    if (c->err != 0) throw ConnectionLost(context_error(c.get(), "connect"));
    // Blocking calls during the handshake are bounded; long reads are driven by poll().
    redisSetTimeout(c.get(), tv);
    redisEnableKeepAlive(c.get());
    try {
        if (!url.password.empty()) {
            if (url.username.empty()) {
                redis_command(c.get(), {"AUTH", url.password}, "AUTH");
            } else {
                redis_command(c.get(), {"AUTH", url.username, url.password}, "AUTH");
            }
        }
        if (url.db != 0) redis_command(c.get(), {"SELECT", std::to_string(url.db)}, "SELECT");
    } catch (const RedisError& e) {
        // Refused at the handshake: no usable connection (the intakes retry with backoff).
        throw ConnectionLost(e.what());
    }
    return c;
}

void send_queued(redisContext* c, std::string_view during) {
    // A blocking write, bounded by the socket timeout.
    int done = 0;
    while (done == 0) {
        if (redisBufferWrite(c, &done) != REDIS_OK) throw ConnectionLost(context_error(c, during));
    }
}

RedisReplyPtr await_reply(redisContext* c, std::chrono::milliseconds poll_interval,
                          const std::atomic<bool>& stop, std::string_view during,
                          std::chrono::steady_clock::duration limit) {
    const auto start = std::chrono::steady_clock::now();
    send_queued(c, during);
    for (;;) {
        void* raw = nullptr;
        if (redisGetReplyFromReader(c, &raw) != REDIS_OK) {
            throw ConnectionLost(context_error(c, during));
        }
        if (raw != nullptr) return RedisReplyPtr(static_cast<redisReply*>(raw));
        if (stop.load()) return nullptr;
        if (std::chrono::steady_clock::now() - start > limit) {
            throw ConnectionLost(std::string(during) + ": no reply in time");
        }
        pollfd pfd{c->fd, POLLIN, 0};
        const int ready = ::poll(&pfd, 1, static_cast<int>(poll_interval.count()));
        if (ready < 0) {
            if (errno == EINTR) continue;
            throw ConnectionLost("poll failed");
        }
        if (ready == 0) continue;
        if (redisBufferRead(c) != REDIS_OK) throw ConnectionLost(context_error(c, during));
    }
}

void wait_unless_stopped(std::chrono::milliseconds d, std::chrono::milliseconds slice,
                         const std::atomic<bool>& stop) {
    const auto until = std::chrono::steady_clock::now() + d;
    while (!stop.load() && std::chrono::steady_clock::now() < until) {
        std::this_thread::sleep_for(std::min<std::chrono::milliseconds>(
            slice, std::chrono::duration_cast<std::chrono::milliseconds>(
                       until - std::chrono::steady_clock::now()) +
                       std::chrono::milliseconds{1}));
    }
}

void reconnect_loop(
    const RedisUrl& url, const ReconnectPolicy& policy, const std::atomic<bool>& stop,
    const RedisSubscriber::StateHandler& on_state,
    const std::function<void(const std::function<void(std::string_view detail)>& connected)>&
        session) {
    auto report = [&](RedisState s, std::string_view detail) {
        if (on_state) on_state(s, detail);
    };
    auto backoff = policy.initial;
    std::string last_error;
    report(RedisState::connecting, url.redacted());
    while (!stop.load()) {
        try {
            session([&](std::string_view detail) {
                report(RedisState::subscribed, detail);
                backoff = policy.initial;
                last_error.clear();
            });
            if (stop.load()) break;
            throw ConnectionLost("connection closed");
        } catch (const ConnectionLost& e) {
            // Each distinct failure is reported once, not once per retry.
            if (e.what() != last_error) {
                report(RedisState::disconnected, e.what());
                last_error = e.what();
            }
        }
        wait_unless_stopped(backoff, policy.poll_interval, stop);
        backoff = std::min(backoff * 2, policy.max);
    }
    report(RedisState::stopped, url.redacted());
}

RedisReplyPtr RetryingClient::command(const std::vector<std::string>& args,
                                      std::string_view during) {
    std::lock_guard lock(mutex_);
    std::string last_error;
    // A connection idle since the last call may have been closed: one fresh try after that.
    for (int attempt = 0; attempt < 2; ++attempt) {
        try {
            if (!context_) context_ = redis_connect(url_, timeout_);
            return redis_command(context_.get(), args, during);
        } catch (const RedisError& e) {
            // Redis answered: the connection is fine and a retry would get the same answer.
            last_error = e.what();
            break;
        } catch (const ConnectionLost& e) {
            context_.reset();
            last_error = e.what();
        }
    }
    throw std::runtime_error(std::string(during) + " on " + url_.redacted() +
                             " failed: " + last_error);
}

}  // namespace planner::detail
