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

}  // namespace detail

}  // namespace planner
