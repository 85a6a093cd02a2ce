// Invariants: extraction never throws; it yields an object or a one-line reason, never both;
// what it yields is a JSON object that serialises.

#include <cstdint>
#include <string_view>

#include "json_extract.hpp"

#include "fuzz_check.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    const auto extracted = planner::detail::extract_json_object(text);
    if (extracted.object) {
        FUZZ_CHECK(extracted.error.empty());
        FUZZ_CHECK(extracted.object->is_object());
        (void)extracted.object->dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    } else {
        FUZZ_CHECK(!extracted.error.empty());
        FUZZ_CHECK(extracted.error.find('\n') == std::string::npos);
    }
    return 0;
}
