// Invariants: a sanitised name is one safe path component: never empty, never `/`, never a
// leading dot, never `..`, only [A-Za-z0-9._-], within the length limit, and stable.

#include <cstdint>
#include <string_view>

#include <planner/detail/safe_name.hpp>

#include "fuzz_check.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view name(reinterpret_cast<const char*>(data), size);
    for (std::size_t limit : {std::size_t{64}, std::size_t{16}}) {
        const auto safe = planner::detail::safe_path_component(name, limit);
        FUZZ_CHECK(!safe.empty());
        FUZZ_CHECK(safe.size() <= limit);
        FUZZ_CHECK(safe.front() != '.');
        FUZZ_CHECK(safe.find("..") == std::string::npos);
        for (const char c : safe) {
            const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                            (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
            FUZZ_CHECK(ok);
        }
        FUZZ_CHECK(planner::detail::safe_path_component(name, limit) == safe);
        FUZZ_CHECK(planner::detail::safe_path_component(safe, limit) == safe);
    }
    return 0;
}
