// Invariants: parse_redis_url accepts or throws std::invalid_argument, nothing else; an accepted
// URL has a usable port and database; the redacted form hides any password.

#include <cstdint>
#include <stdexcept>
#include <string_view>

#include <planner/redis_subscriber.hpp>

#include "fuzz_check.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    try {
        const auto url = planner::parse_redis_url(text);
        FUZZ_CHECK(url.port >= 1 && url.port <= 65535);
        FUZZ_CHECK(url.db >= 0);
        FUZZ_CHECK(!url.unix_socket.empty() || !url.host.empty());
        const auto shown = url.redacted();
        if (!url.password.empty()) FUZZ_CHECK(shown.find(":***@") != std::string::npos);
    } catch (const std::invalid_argument&) {
    }
    return 0;
}
