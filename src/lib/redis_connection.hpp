#pragma once

// The hiredis connection code the Redis intakes share (pub/sub and Streams); not installed.

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <hiredis/hiredis.h>

#include "planner/redis_subscriber.hpp"

namespace planner::detail {

struct RedisContextDeleter {
    void operator()(redisContext* c) const noexcept { redisFree(c); }
};
using RedisContextPtr = std::unique_ptr<redisContext, RedisContextDeleter>;

struct RedisReplyDeleter {
    void operator()(redisReply* r) const noexcept { freeReplyObject(r); }
};
using RedisReplyPtr = std::unique_ptr<redisReply, RedisReplyDeleter>;

/// Why a connection attempt or a live connection failed, without any secret in it.
class ConnectionLost : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

/// Redis answered with an error reply (WRONGTYPE, NOGROUP, NOSCRIPT, ...): the connection is
/// fine and the same command would fail again, so this is not a reason to reconnect or retry.
/// The text is Redis's own, which names no secret.
class RedisError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

/// `during`, plus the context's error text when it has one.
std::string context_error(const redisContext* c, std::string_view during);

/// Connects, AUTHs and SELECTs; blocking calls on it are bounded by `timeout`.
/// Throws ConnectionLost, also when AUTH or SELECT is refused (no usable connection).
RedisContextPtr redis_connect(const RedisUrl& url, std::chrono::milliseconds timeout);

/// Queues one command on the context's output buffer (nothing is sent yet).
void append_command(redisContext* c, const std::vector<std::string>& args, std::string_view during);

/// Writes what is queued to the socket without waiting for a reply, so Redis starts on it while
/// the caller works. Throws ConnectionLost.
void send_queued(redisContext* c, std::string_view during);

/// One blocking command. Throws ConnectionLost for a lost connection, RedisError for an error
/// reply.
RedisReplyPtr redis_command(redisContext* c, const std::vector<std::string>& args,
                            std::string_view during);

/// Sends what is queued and waits for the next reply with poll(), `poll_interval` at a time,
/// so a stop request is seen within one interval: nullptr then. An error reply is returned as
/// it is (the caller decides). Throws ConnectionLost, also when no reply came within `limit`
/// (a frozen server).
RedisReplyPtr await_reply(
    redisContext* c, std::chrono::milliseconds poll_interval, const std::atomic<bool>& stop,
    std::string_view during,
    std::chrono::steady_clock::duration limit = std::chrono::steady_clock::duration::max());

/// Waits `d` in `slice`-sized steps so a stop request is noticed promptly.
void wait_unless_stopped(std::chrono::milliseconds d, std::chrono::milliseconds slice,
                         const std::atomic<bool>& stop);

/// The reconnect loop of both intakes. `session` connects and works; it calls `connected`
/// once it is live (which reports `subscribed` with that detail and resets the backoff), and
/// returns when `stop` is set. A ConnectionLost it throws is reported once per distinct reason
/// and retried after a capped exponential backoff. Reports `connecting` first, `stopped` last.
struct ReconnectPolicy {
    std::chrono::milliseconds poll_interval;
    std::chrono::milliseconds initial;
    std::chrono::milliseconds max;
};
void reconnect_loop(
    const RedisUrl& url, const ReconnectPolicy& policy, const std::atomic<bool>& stop,
    const RedisSubscriber::StateHandler& on_state,
    const std::function<void(const std::function<void(std::string_view detail)>& connected)>&
        session);

/// A request/response client for code that is not an intake (producers, the shared
/// reservations): connects on first use and again after a lost connection, one retry per
/// command. An error reply is thrown at once, keeping the connection: retrying would only
/// repeat it. Thread-safe. Throws std::runtime_error naming `url` redacted, never a secret.
class RetryingClient {
  public:
    RetryingClient(RedisUrl url, std::chrono::milliseconds timeout)
        : url_(std::move(url)), timeout_(timeout) {}
    RedisReplyPtr command(const std::vector<std::string>& args, std::string_view during);
    const RedisUrl& url() const noexcept { return url_; }

  private:
    RedisUrl url_;
    std::chrono::milliseconds timeout_;
    std::mutex mutex_;
    RedisContextPtr context_;
};

/// The text of a string, status or error reply; empty for other types.
inline std::string_view reply_text(const redisReply* r) noexcept {
    if (r == nullptr || r->str == nullptr) return {};
    return {r->str, r->len};
}

}  // namespace planner::detail
