#include "planner/url.hpp"

#include "url_parts.hpp"

namespace planner {

namespace detail {

namespace {

int hex_value(char c) noexcept {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

bool is_unreserved(char c) noexcept {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_' || c == '~';
}

/// `userinfo` with its password masked: "user:***", or ":***" when there is no ':' to tell a
/// user name from a secret. An empty password stays empty: there is nothing to hide.
std::string masked_userinfo(std::string_view userinfo) {
    const auto colon = userinfo.find(':');
    if (colon == std::string_view::npos) return ":***";
    std::string out(userinfo.substr(0, colon + 1));
    if (colon + 1 < userinfo.size()) out.append("***");
    return out;
}

}  // namespace

std::optional<UrlParts> split_url(std::string_view url, UrlSyntax syntax) {
    const auto scheme_end = url.find("://");
    if (scheme_end == std::string_view::npos) return std::nullopt;
    UrlParts parts;
    parts.scheme = url.substr(0, scheme_end);
    std::string_view rest = url.substr(scheme_end + 3);

    std::string_view authority;
    if (syntax == UrlSyntax::redis) {
        if (const auto q = rest.find('?'); q != std::string_view::npos) {
            parts.query = rest.substr(q + 1);
            rest = rest.substr(0, q);
        }
        if (const auto at = rest.rfind('@'); at != std::string_view::npos) {
            parts.userinfo = rest.substr(0, at);
            rest = rest.substr(at + 1);
        }
        const auto slash = rest.find('/');
        parts.host_port = rest.substr(0, slash);
        if (slash != std::string_view::npos) parts.path = rest.substr(slash);
        return parts;
    }

    const auto authority_end = rest.find_first_of("/?#");
    authority = rest.substr(0, authority_end);
    if (const auto at = authority.rfind('@'); at != std::string_view::npos) {
        parts.userinfo = authority.substr(0, at);
        authority = authority.substr(at + 1);
    }
    parts.host_port = authority;
    rest =
        authority_end == std::string_view::npos ? std::string_view{} : rest.substr(authority_end);
    if (const auto hash = rest.find('#'); hash != std::string_view::npos) {
        parts.fragment = rest.substr(hash + 1);
        rest = rest.substr(0, hash);
    }
    if (const auto q = rest.find('?'); q != std::string_view::npos) {
        parts.query = rest.substr(q + 1);
        rest = rest.substr(0, q);
    }
    parts.path = rest;
    return parts;
}

HostPort split_host_port(std::string_view host_port) {
    HostPort out;
    std::string_view port;
    bool has_port = false;
    if (host_port.starts_with('[')) {
        const auto close = host_port.find(']');
        if (close == std::string_view::npos) {
            out.error = HostPortError::unterminated_bracket;
            return out;
        }
        out.host = host_port.substr(1, close - 1);
        const auto after = host_port.substr(close + 1);
        if (!after.empty()) {
            if (after.front() != ':') {
                out.error = HostPortError::text_after_bracket;
                return out;
            }
            port = after.substr(1);
            has_port = true;
        }
    } else if (const auto colon = host_port.find(':'); colon != std::string_view::npos) {
        out.host = host_port.substr(0, colon);
        port = host_port.substr(colon + 1);
        has_port = true;
    } else {
        out.host = host_port;
    }
    if (has_port && port.empty()) {
        out.error = HostPortError::empty_port;
    } else if (has_port) {
        out.port = port;
    }
    return out;
}

std::optional<std::string> percent_decode(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] != '%') {
            out += text[i];
            continue;
        }
        const int hi = i + 1 < text.size() ? hex_value(text[i + 1]) : -1;
        const int lo = i + 2 < text.size() ? hex_value(text[i + 2]) : -1;
        if (hi < 0 || lo < 0) return std::nullopt;
        out += static_cast<char>(hi * 16 + lo);
        i += 2;
    }
    return out;
}

std::string percent_encode(std::string_view text) {
    constexpr char kHex[] = "0123456789ABCDEF";
    std::string out;
    out.reserve(text.size());
    for (const char c : text) {
        if (is_unreserved(c)) {
            out += c;
            continue;
        }
        const auto u = static_cast<unsigned char>(c);
        out += '%';
        out += kHex[u >> 4];
        out += kHex[u & 0xF];
    }
    return out;
}

}  // namespace detail

std::string redact_url(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    std::size_t from = 0;
    for (auto scheme_end = text.find("://"); scheme_end != std::string_view::npos;
         scheme_end = text.find("://", from)) {
        // In free text a URL ends at a space; split_url reads "://..." as a URL without scheme.
        const auto space = text.find(' ', scheme_end + 3);
        const auto url =
            text.substr(scheme_end, space == std::string_view::npos ? space : space - scheme_end);
        const auto userinfo = detail::split_url(url)->userinfo;
        const auto authority = scheme_end + 3;
        out.append(text.substr(from, authority - from));
        from = authority;
        if (userinfo) {
            out.append(detail::masked_userinfo(*userinfo));
            from += userinfo->size();  // the '@' is copied with the rest
        }
    }
    out.append(text.substr(from));
    return out;
}

}  // namespace planner
