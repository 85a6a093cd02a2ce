// dump_lenient writes its own output for speed; it must stay byte for byte nlohmann's.

#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include <planner/detail/json_limits.hpp>

using nlohmann::json;
using planner::detail::dump_lenient;
using planner::detail::dump_replacing;

namespace {

/// Every document of the fuzz corpus that nlohmann parses (most of them are JSON).
std::vector<json> corpus_documents() {
    std::vector<json> out;
    const auto corpus = std::filesystem::path(PLANNER_SOURCE_DIR) / "tests/fuzz/corpus";
    for (const auto& entry : std::filesystem::recursive_directory_iterator(corpus)) {
        if (!entry.is_regular_file()) continue;
        std::ifstream in(entry.path(), std::ios::binary);
        std::ostringstream bytes;
        bytes << in.rdbuf();
        const std::string text = std::move(bytes).str();
        if (planner::detail::json_text_exceeds_depth(text, 200)) continue;
        auto doc = json::parse(text, nullptr, false);
        if (!doc.is_discarded()) out.push_back(std::move(doc));
    }
    return out;
}

}  // namespace

TEST_CASE("dump_lenient writes what nlohmann writes, compact and indented", "[json]") {
    const std::string bad_utf8 = "caf\xc3 \xff end";
    std::vector<json> documents = {
        nullptr,
        true,
        false,
        0,
        -1,
        std::numeric_limits<std::int64_t>::min(),
        std::numeric_limits<std::uint64_t>::max(),
        0.0,
        -0.0,
        0.9,
        1.0,
        1e300,
        -1.5e-300,
        std::numeric_limits<double>::quiet_NaN(),
        std::numeric_limits<double>::infinity(),
        "",
        "plain text",
        "quote \" backslash \\ slash / tab \t newline \n nul-free \x01 \x1f del \x7f",
        "caf\u00e9 \u2603 \U0001F600",
        bad_utf8,
        "<event> & </event>",
        json::object(),
        json::array(),
        json::array({json::object(), json::array(), nullptr}),
        {{"action_id", "plan-piha-mosquitto-1780000000-1"},
         {"confidence", 0.9},
         {"requires_human", false},
         {"payload", {{"action", "restart"}, {"reason", "two\nlines"}}},
         {"policy_corrections", {"a", "b"}},
         {"empty", json::object()},
         {"list", {1, 2.5, "x", {{"deep", {{"deeper", json::array({nullptr})}}}}}}},
        {{bad_utf8, bad_utf8}, {"\u00e9", 1}, {"k\"ey", "v"}, {"", ""}},
    };
    for (auto& doc : corpus_documents()) documents.push_back(std::move(doc));
    REQUIRE(documents.size() > 40);
    for (const auto& doc : documents) {
        for (const int indent : {-1, 0, 1, 2, 4}) {
            const auto expected = dump_replacing(doc, indent);
            CAPTURE(expected, indent);
            CHECK(dump_lenient(doc, indent) == expected);
        }
    }
}

TEST_CASE("dump_lenient hands values it does not write itself to nlohmann", "[json]") {
    const json binary = json::binary({1, 2, 3}, 7);
    const json doc = {{"bytes", binary}, {"text", "x"}};
    for (const int indent : {-1, 2}) {
        CHECK(dump_lenient(binary, indent) == dump_replacing(binary, indent));
        CHECK(dump_lenient(doc, indent) == dump_replacing(doc, indent));
    }
}

TEST_CASE("a plain JSON string is printable ASCII without quote or backslash, at any position",
          "[json]") {
    const auto plain_byte = [](int b) { return b >= 0x20 && b <= 0x7e && b != '"' && b != '\\'; };
    for (std::size_t pos = 0; pos < 17; ++pos) {
        for (int b = 0; b < 256; ++b) {
            std::string text(17, 'a');
            text[pos] = static_cast<char>(b);
            CAPTURE(pos, b);
            CHECK(planner::detail::is_plain_json_string(text) == plain_byte(b));
        }
    }
    CHECK(planner::detail::is_plain_json_string(""));
}
