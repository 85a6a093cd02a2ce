#pragma once

/// \file
/// Where Redis is: the one parsed form of a Redis URL, shared by the intakes, silences,
/// reservations and the configuration file (which keeps it parsed, not as text to re-parse).

#include <string>
#include <string_view>

namespace planner {

/// A parsed `redis://[[user]:password@]host[:port][/db]` or `unix:///path/to/redis.sock` URL.
struct RedisUrl {
    std::string host = "127.0.0.1";
    int port = 6379;
    std::string unix_socket;  ///< set for unix:// URLs; host and port are then unused
    std::string username;     ///< ACL user; empty for password-only AUTH
    std::string password;
    int db = 0;

    /// The URL with the password replaced by `***`: the only form that may be logged.
    std::string redacted() const;
};

/// Throws std::invalid_argument with a one-line reason, which never contains the password.
RedisUrl parse_redis_url(std::string_view url);

}  // namespace planner
