#include "planner/redis_subscriber.hpp"

#include <poll.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <memory>
#include <stdexcept>

#include "planner/url.hpp"
#include "redis_connection.hpp"
#include "url_parts.hpp"

namespace planner {

namespace {

/// %XX decoding for the user-info part, so a password may contain `@` or `:`.
std::string percent_decode(std::string_view s, std::string_view what) {
    auto out = detail::percent_decode(s);
    if (!out) {
        throw std::invalid_argument("malformed %-escape in the Redis URL's " + std::string(what));
    }
    return std::move(*out);
}

int parse_int(std::string_view s, int lo, int hi, const char* what) {
    int value = 0;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
    if (s.empty() || ec != std::errc{} || end != s.data() + s.size() || value < lo || value > hi) {
        throw std::invalid_argument(std::string("invalid ") + what + " '" + std::string(s) +
                                    "' in the Redis URL (expected " + std::to_string(lo) + ".." +
                                    std::to_string(hi) + ")");
    }
    return value;
}

using detail::ConnectionLost;
using detail::context_error;
using ContextPtr = detail::RedisContextPtr;
using ReplyPtr = detail::RedisReplyPtr;

ContextPtr connect_and_subscribe(const RedisSubscriberOptions& o) {
    ContextPtr c = detail::redis_connect(o.url, o.connect_timeout);
    std::vector<std::string> args{"SUBSCRIBE"};
    args.insert(args.end(), o.channels.begin(), o.channels.end());
    detail::append_command(c.get(), args, "SUBSCRIBE");
    // One confirmation per channel; only then is the subscription live.
    for (std::size_t i = 0; i < o.channels.size(); ++i) {
        void* raw = nullptr;
        if (redisGetReply(c.get(), &raw) != REDIS_OK || raw == nullptr) {
            throw ConnectionLost(context_error(c.get(), "SUBSCRIBE"));
        }
        ReplyPtr reply(static_cast<redisReply*>(raw));
        if (reply->type == REDIS_REPLY_ERROR) {
            throw ConnectionLost("SUBSCRIBE: " + std::string(reply->str, reply->len));
        }
    }
    return c;
}

/// Hands a `message` push to the handler; other pushes (subscribe confirmations) are ignored.
void deliver(const redisReply& r, const RedisSubscriber::MessageHandler& on_message) {
    if (r.type != REDIS_REPLY_ARRAY || r.elements != 3) return;
    const redisReply* kind = r.element[0];
    const redisReply* channel = r.element[1];
    const redisReply* data = r.element[2];
    if (kind->type != REDIS_REPLY_STRING || std::string_view(kind->str, kind->len) != "message") {
        return;
    }
    if (channel->type != REDIS_REPLY_STRING || data->type != REDIS_REPLY_STRING) return;
    on_message(std::string_view(channel->str, channel->len),
               std::string_view(data->str, data->len));
}

/// Reads until the connection fails or `stop` is set. poll() bounds every wait, because
/// hiredis 0.14 leaves a context unusable after a socket read timeout.
void pump(redisContext* c, const RedisSubscriberOptions& o,
          const RedisSubscriber::MessageHandler& on_message, const std::atomic<bool>& stop) {
    while (!stop.load()) {
        for (;;) {
            void* raw = nullptr;
            if (redisGetReplyFromReader(c, &raw) != REDIS_OK) {
                throw ConnectionLost(context_error(c, "read"));
            }
            if (raw == nullptr) break;
            ReplyPtr reply(static_cast<redisReply*>(raw));
            deliver(*reply, on_message);
            if (stop.load()) return;
        }
        pollfd pfd{c->fd, POLLIN, 0};
        const int ready = ::poll(&pfd, 1, static_cast<int>(o.poll_interval.count()));
        if (ready < 0) {
            if (errno == EINTR) continue;
            throw ConnectionLost("poll failed");
        }
        if (ready == 0) continue;
        if (redisBufferRead(c) != REDIS_OK) throw ConnectionLost(context_error(c, "read"));
    }
}

}  // namespace

RedisUrl parse_redis_url(std::string_view url) {
    const auto parts = detail::split_url(url, detail::UrlSyntax::redis);
    const auto scheme = parts ? parts->scheme : std::string_view{};
    if (scheme == "rediss") {
        throw std::invalid_argument("rediss:// (TLS) is not supported; use redis:// or unix://");
    }
    if (scheme != "redis" && scheme != "unix") {
        throw std::invalid_argument(
            "Redis URL must start with redis:// or unix:// (redis://[[user]:password@]host"
            "[:port][/db] or unix:///path/to/redis.sock)");
    }

    // unix:///path?db=N&password=P ; redis://[[user]:password@]host[:port][/db]
    RedisUrl out;
    if (const auto& userinfo = parts->userinfo) {
        if (const auto colon = userinfo->find(':'); colon != std::string_view::npos) {
            out.username = percent_decode(userinfo->substr(0, colon), "user name");
            out.password = percent_decode(userinfo->substr(colon + 1), "password");
        } else {
            // redis://secret@host is the common password-only form.
            out.password = percent_decode(*userinfo, "password");
        }
    }
    if (scheme == "unix") {
        if (!parts->host_port.empty() || parts->path.size() < 2) {
            throw std::invalid_argument("unix:// Redis URL needs an absolute socket path");
        }
        out.unix_socket = std::string(parts->path);
    } else {
        if (parts->path.size() > 1) {
            out.db = parse_int(parts->path.substr(1), 0, 1'000'000, "database number");
        }
        const auto hp = detail::split_host_port(parts->host_port);
        if (hp.error == detail::HostPortError::unterminated_bracket) {
            throw std::invalid_argument("unterminated [ in the Redis URL's host");
        }
        if (hp.error == detail::HostPortError::text_after_bracket) {
            throw std::invalid_argument("unexpected text after ] in the Redis URL");
        }
        if (hp.error == detail::HostPortError::empty_port) {
            throw std::invalid_argument("empty port in the Redis URL");
        }
        out.host = std::string(hp.host);
        if (out.host.empty()) throw std::invalid_argument("the Redis URL names no host");
        if (hp.port) out.port = parse_int(*hp.port, 1, 65535, "port");
    }
    // Query parameters, as redis-py accepts them: db and password.
    std::string_view query = parts->query.value_or(std::string_view{});
    while (!query.empty()) {
        const auto amp = query.find('&');
        const auto param = query.substr(0, amp);
        query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
        const auto eq = param.find('=');
        const auto key = param.substr(0, eq);
        const auto value = eq == std::string_view::npos ? std::string_view{} : param.substr(eq + 1);
        if (key == "db") {
            out.db = parse_int(value, 0, 1'000'000, "database number");
        } else if (key == "password") {
            out.password = percent_decode(value, "password");
        } else if (!key.empty()) {
            throw std::invalid_argument("unknown Redis URL parameter '" + std::string(key) + "'");
        }
    }
    return out;
}

std::string RedisUrl::redacted() const {
    // Composed with the credentials escaped, so that redact_url finds where they end and the
    // result reads back as the same user name; redact_url then masks the password.
    std::string url = unix_socket.empty() ? "redis://" : "unix://";
    if (!username.empty() || !password.empty()) {
        url += detail::percent_encode(username) + ":" + detail::percent_encode(password) + "@";
    }
    if (!unix_socket.empty()) {
        url += unix_socket;
        if (db != 0) url += "?db=" + std::to_string(db);
    } else {
        const bool ipv6 = host.find(':') != std::string::npos;
        url += (ipv6 ? "[" + host + "]" : host) + ":" + std::to_string(port) + "/" +
               std::to_string(db);
    }
    return redact_url(url);
}

std::string_view to_string(RedisState state) noexcept {
    switch (state) {
        case RedisState::connecting:
            return "connecting";
        case RedisState::subscribed:
            return "subscribed";
        case RedisState::disconnected:
            return "disconnected";
        case RedisState::stopped:
            return "stopped";
    }
    return "disconnected";
}

RedisSubscriber::RedisSubscriber(RedisSubscriberOptions options, MessageHandler on_message,
                                 StateHandler on_state)
    : options_(std::move(options)),
      on_message_(std::move(on_message)),
      on_state_(std::move(on_state)) {
    if (options_.channels.empty()) throw std::invalid_argument("no Redis channel to subscribe to");
    if (!on_message_) throw std::invalid_argument("RedisSubscriber needs a message handler");
}

void RedisSubscriber::run(const std::atomic<bool>& stop) {
    const detail::ReconnectPolicy policy{options_.poll_interval, options_.reconnect_initial,
                                         options_.reconnect_max};
    detail::reconnect_loop(options_.url, policy, stop, on_state_, [&](const auto& connected) {
        ContextPtr c = connect_and_subscribe(options_);
        connected(options_.url.redacted());
        pump(c.get(), options_, on_message_, stop);
    });
}

}  // namespace planner
