// Invariants: parse_config never throws and never hangs on any bytes; it returns a
// configuration or at least one error, each a single line with a position inside the text.

#include <cstdint>
#include <string>
#include <string_view>

#include <planner/config.hpp>

#include "fuzz_check.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    const auto result = planner::parse_config(text, "fuzz.yaml");
    if (result.ok()) {
        // A valid configuration's rules are usable as they are.
        FUZZ_CHECK(result.config().rules.has_value());
        return 0;
    }
    FUZZ_CHECK(!result.errors().empty());
    int lines = 1;
    for (const char c : text) lines += c == '\n';
    for (const auto& e : result.errors()) {
        const std::string line = e.to_string();
        FUZZ_CHECK(line.starts_with("fuzz.yaml"));
        FUZZ_CHECK(!e.message.empty());
        FUZZ_CHECK(e.line >= 0 && e.line <= lines);
        FUZZ_CHECK(e.message.find('\n') == std::string::npos);
    }
    return 0;
}
