// Arbitrary bytes through the intake peek's two passes: simdjson's fast pass and nlohmann's SAX
// pass must reach the same decision (valid or not; the event type, node and service), and a
// message either calls valid must be one the full parse accepts with the same names.
//
// Two limit sets: the defaults, and small ones the fuzzer reaches easily (a name of 8 bytes,
// a payload 3 deep).

#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

#include "fuzz_check.hpp"
#include "support/peek_compare.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view message(reinterpret_cast<const char*>(data), size);
    for (const planner::EventLimits limits :
         {planner::EventLimits{},
          planner::EventLimits{.max_name_bytes = 8, .max_payload_depth = 3}}) {
        const std::string disagreement = planner::testing::peek_disagreement(message, limits);
        if (!disagreement.empty()) std::fprintf(stderr, "peek: %s\n", disagreement.c_str());
        FUZZ_CHECK(disagreement.empty());
    }
    return 0;
}
