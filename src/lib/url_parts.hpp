#pragma once

// The library's one URL parser; not installed. libcurl's CURLU API is not used: with
// CURLU_NON_SUPPORT_SCHEME it reads unix:///run/redis.sock as host "run" and path
// "/redis.sock", takes "redis://h:" as no port, and refuses "redis://u:p@w@h/1" and hosts with
// a space, so the Redis URLs the planner has always accepted could not keep their meaning.

#include <optional>
#include <string>
#include <string_view>

namespace planner::detail {

/// Where the user info of a URL may end.
enum class UrlSyntax {
    /// RFC 3986: the authority ends at the first '/', '?' or '#'.
    standard,
    /// Redis URLs as the planner has always read them: '#' is not special and the user info
    /// runs to the last '@' before the query, so a password may hold an unescaped '/' or '@'.
    redis,
};

/// A URL split into its parts: views into the split text, nothing decoded or checked.
struct UrlParts {
    std::string_view scheme;                   ///< before the first "://", as written
    std::optional<std::string_view> userinfo;  ///< before the '@' that ends it
    std::string_view host_port;                ///< the authority without its user info
    std::string_view path;                     ///< from the '/' after the authority, or empty
    std::optional<std::string_view> query;     ///< after the '?', without it
    std::optional<std::string_view> fragment;  ///< after the '#'; never set for UrlSyntax::redis
};

/// `url` split at its "://"; nullopt when it has none.
std::optional<UrlParts> split_url(std::string_view url, UrlSyntax syntax = UrlSyntax::standard);

/// Why an authority's host and port could not be told apart.
enum class HostPortError { unterminated_bracket, text_after_bracket, empty_port };

/// An authority's `host[:port]` or `[v6-address][:port]`, brackets removed from the host.
struct HostPort {
    std::string_view host;                 ///< may be empty: callers judge that
    std::optional<std::string_view> port;  ///< set, never empty, when a ':' follows the host
    std::optional<HostPortError> error;    ///< when set, host and port are meaningless
};

/// `host_port` split at the port's ':' (the first one, outside brackets).
HostPort split_host_port(std::string_view host_port);

/// %XX sequences decoded; nullopt when a '%' is not followed by two hex digits.
std::optional<std::string> percent_decode(std::string_view text);

/// Every byte but RFC 3986's unreserved ones as %XX, so the text is one URL component.
std::string percent_encode(std::string_view text);

}  // namespace planner::detail
