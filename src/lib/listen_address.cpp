#include "planner/listen_address.hpp"

#include <charconv>
#include <stdexcept>

namespace planner {

std::string ListenAddress::to_string() const {
    const bool v6 = host.find(':') != std::string::npos;
    return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

ListenAddress parse_listen_address(std::string_view text) {
    const auto fail = [&](const std::string& why) {
        return std::invalid_argument("'" + std::string(text) + "' is not ADDR:PORT: " + why);
    };
    if (text.size() > 300) throw std::invalid_argument("ADDR:PORT is longer than 300 bytes");
    for (const char c : text) {
        const auto u = static_cast<unsigned char>(c);
        if (u <= 0x20 || u >= 0x7F) {
            throw std::invalid_argument("ADDR:PORT holds a space or control character");
        }
    }
    ListenAddress out;
    std::string_view port;
    if (text.starts_with("[")) {
        const auto close = text.find(']');
        if (close == std::string_view::npos) throw fail("no ']' after the IPv6 address");
        out.host = std::string(text.substr(1, close - 1));
        if (close + 1 >= text.size() || text[close + 1] != ':') throw fail("no ':PORT'");
        port = text.substr(close + 2);
    } else {
        const auto colon = text.rfind(':');
        if (colon == std::string_view::npos) throw fail("no ':PORT'");
        out.host = std::string(text.substr(0, colon));
        if (out.host.find(':') != std::string::npos) {
            throw fail("write an IPv6 address in brackets, e.g. [::1]:8080");
        }
        port = text.substr(colon + 1);
    }
    if (out.host.empty()) throw fail("empty address (0.0.0.0 listens on every interface)");
    if (out.host.find_first_of("[]/@") != std::string::npos) throw fail("bad address");
    unsigned value = 0;
    const auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (port.empty() || ec != std::errc{} || ptr != port.data() + port.size() || value > 65535) {
        throw fail("the port must be a number from 0 to 65535");
    }
    out.port = static_cast<int>(value);
    return out;
}

}  // namespace planner
