// Invariants: parse_model_spec accepts or throws std::invalid_argument with a one-line reason;
// an accepted spec names a known provider and survives a round trip through text().

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

#include <planner/chain_router.hpp>

#include "fuzz_check.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    try {
        const auto spec = planner::parse_model_spec(text);
        FUZZ_CHECK(spec.provider == "ollama" || spec.provider == "openai" ||
                   spec.provider == "anthropic" || spec.provider == "rules");
        FUZZ_CHECK(spec.provider == "rules" || !spec.model.empty());
        const auto again = planner::parse_model_spec(spec.text());
        FUZZ_CHECK(again.provider == spec.provider);
        FUZZ_CHECK(again.model == spec.model);
        FUZZ_CHECK(again.base_url == spec.base_url);
    } catch (const std::invalid_argument& e) {
        FUZZ_CHECK(std::string_view(e.what()).find('\n') == std::string_view::npos);
    }
    return 0;
}
