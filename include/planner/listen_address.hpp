#pragma once

/// \file
/// `HOST:PORT` for a listening socket (planner-run's `--http-listen`), parsed in one place so
/// the flag, its variable and the configuration file refuse the same mistakes the same way.

#include <string>
#include <string_view>

namespace planner {

/// Where to listen. `host` is an IPv4 address, a host name or an IPv6 address without its
/// brackets; `port` 0 asks the kernel for a free one (the bound port is then logged).
struct ListenAddress {
    std::string host;
    int port = 0;

    /// `host:port`, or `[host]:port` for an IPv6 address: what parse_listen_address reads.
    std::string to_string() const;
};

/// `127.0.0.1:8080`, `0.0.0.0:0`, `localhost:9100`, `[::1]:8080`. Throws std::invalid_argument
/// with a one-line reason for anything else (no port, a port above 65535, an IPv6 address
/// without brackets, spaces, an empty host).
ListenAddress parse_listen_address(std::string_view text);

}  // namespace planner
