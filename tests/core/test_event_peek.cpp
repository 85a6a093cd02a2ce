// The intake peek's fast pass (simdjson On-Demand) against its reference (nlohmann's SAX pass,
// the grammar of the full parse): the same decision on every fuzz-corpus input and on the
// malformed messages the agent and dispatch tests list. See support/peek_compare.hpp.

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include <catch2/catch.hpp>

#include "support/malformed_events.hpp"
#include "support/peek_compare.hpp"

using planner::EventLimits;
using planner::testing::peek_disagreement;

namespace {

/// The malformed, hostile and odd messages tests/service lists (suppressed-but-malformed,
/// non-objects, depth), plus the cases where simdjson and nlohmann part ways.
std::vector<std::string> listed_messages() {
    auto messages = planner::testing::suppressed_but_malformed_messages();
    const std::vector<std::string> more{
        "[1,2]",
        "\"text\"",
        "null",
        "3.5",
        "",
        R"({"node":"piha","type":"x","payload":)" + std::string(70, '[') + std::string(70, ']') +
            "}",
        std::string(1000, '[') + std::string(1000, ']'),
        // Valid ones, in their variants.
        R"({"node":"piha","type":"heartbeat"})",
        R"({"node":"piha","service":"mosquitto","event_type":"service_unhealthy","timestamp":1.5e9,"payload":{"a":[1,{"b":null}]}})",
        R"( { "node" : "piha" , "type" : "heartbeat" } )",
        "{\n  \"node\": \"piha\",\n  \"type\": \"heartbeat\"\n}\n",
        R"({"no\u0064e":"pi\u00e9ha","type":"heart\"beat","service":"\ud83d\ude00"})",
        R"({"node":"piha","type":"heartbeat","x":1,"x":2})",
        R"({"node":"piha","type":"heartbeat","payload":{"n":18446744073709551616}})",
        R"({"node":"piha","type":"heartbeat","payload":{"n":-9223372036854775809}})",
        R"({"node":"piha","type":"heartbeat","payload":{"n":1e400}})",
        R"({"node":"piha","type":"heartbeat","payload":{"n":1e-400}})",
        R"({"node":"piha","type":"heartbeat","payload":{"n":01}})",
        R"({"node":"piha","type":"heartbeat","payload":{"n":tru}})",
        R"({"node":"piha","type":"heartbeat","payload":{"n":truex}})",
        R"({"node":"piha","type":"heartbeat","payload":{"n":[1,]}})",
        R"({"node":"piha","type":"heartbeat","payload":{"s":"\x"}})",
        R"({"node":"piha","type":"heartbeat","payload":{"s":"\ud800"}})",
        R"({"node":"piha","type":"heartbeat","payload":{"s":"\u0000"}})",
        "{\"node\":\"piha\",\"type\":\"heartbeat\",\"payload\":{\"s\":\"a\tb\"}}",
        "{\"node\":\"piha\",\"type\":\"heartbeat\",\"payload\":{\"s\":\"\xff\"}}",
        "{\"node\":\"pi\xc3\xa9ha\",\"type\":\"heartbeat\"}",
        std::string(R"({"node":"piha","type":"heartbeat"})") + std::string(1, '\0'),
        R"({"node":"piha","type":"heartbeat"}})",
        R"({"node":"piha","type":"heartbeat"} {})",
        R"({"node":"piha","type":"heartbeat",})",
        R"({"node":"piha" "type":"heartbeat"})",
        R"({"node":null,"type":"heartbeat"})",
        R"({"node":"piha","type":null,"event_type":"heartbeat","service":null})",
    };
    messages.insert(messages.end(), more.begin(), more.end());
    return messages;
}

std::vector<std::string> corpus_inputs() {
    std::vector<std::string> inputs;
    const std::filesystem::path corpus =
        std::filesystem::path(PLANNER_SOURCE_DIR) / "tests/fuzz/corpus";
    for (const auto& entry : std::filesystem::recursive_directory_iterator(corpus)) {
        if (!entry.is_regular_file()) continue;
        std::ifstream in(entry.path(), std::ios::binary);
        std::ostringstream bytes;
        bytes << in.rdbuf();
        inputs.push_back(std::move(bytes).str());
    }
    return inputs;
}

}  // namespace

TEST_CASE("the peek's fast pass decides the listed hostile messages as the SAX pass", "[peek]") {
    for (const auto& data : listed_messages()) {
        INFO(data);
        CHECK(peek_disagreement(data).empty());
        CHECK(peek_disagreement(data, EventLimits{.max_name_bytes = 8, .max_payload_depth = 3})
                  .empty());
    }
}

TEST_CASE("the peek's fast pass decides every fuzz-corpus input as the SAX pass", "[peek]") {
    const auto inputs = corpus_inputs();
    REQUIRE(inputs.size() > 50);
    for (const auto& data : inputs) {
        INFO(data);
        CHECK(peek_disagreement(data).empty());
        CHECK(peek_disagreement(data, EventLimits{.max_name_bytes = 8, .max_payload_depth = 3})
                  .empty());
    }
}

// The differential check must be able to fail: the fast pass really answers (so the comparison
// is not vacuous), and answers only for text it fully read.
TEST_CASE("the peek's fast pass answers for ordinary messages and not for odd ones", "[peek]") {
    planner::detail::EventPeek peek;
    REQUIRE(peek.read_fast(R"({"node":"piha","service":"mosquitto","type":"heartbeat"})"));
    CHECK(peek.valid(EventLimits{}));
    CHECK(peek.node() == "piha");
    CHECK(peek.service() == "mosquitto");
    CHECK(peek.event_type() == "heartbeat");
    for (const char* odd : {R"({"node":"piha","type":"heartbeat"} x)",
                            R"({"node":"piha","type":"heartbeat","p":{"n":18446744073709551616}})",
                            R"({"node":"piha","type":"heartbeat","p":tru})", "[1]"}) {
        INFO(odd);
        planner::detail::EventPeek p;
        CHECK_FALSE(p.read_fast(odd));
    }
    // Nesting deeper than the fast pass recurses: left to the SAX pass, whatever its depth.
    const std::string deep = R"({"node":"piha","type":"heartbeat","p":)" +
                             std::string(100'000, '[') + std::string(100'000, ']') + "}";
    planner::detail::EventPeek deep_peek;
    CHECK_FALSE(deep_peek.read_fast(deep));
    CHECK(peek_disagreement(deep).empty());
    planner::detail::EventPeek big;
    const std::string huge = R"({"node":"piha","type":"heartbeat","p":")" +
                             std::string(planner::detail::EventPeek::kFastMaxBytes, 'a') + "\"}";
    CHECK_FALSE(big.read_fast(huge));
    CHECK(big.read(huge));
    CHECK(big.valid(EventLimits{}));
}

// One table (planner::detail::kEventFields) drives the peek and try_parse_event: each rule,
// broken once, is refused by both, in try_parse_event's words; and a repeated field, where the
// peek is unsure, is the one case left to the DOM.
TEST_CASE("the peek and try_parse_event refuse by the same table", "[peek][event]") {
    const EventLimits limits{.max_name_bytes = 8, .max_payload_depth = 2};
    const std::vector<std::pair<std::string, std::string>> refused{
        {R"({"node":1,"type":"x"})", "field 'node' must be a string, got number"},
        {R"({"node":"piha","type":["x"]})", "field 'type' must be a string, got array"},
        {R"({"node":"piha","event_type":true})",
         "field 'event_type' must be a string, got boolean"},
        {R"({"node":"piha","type":"x","service":{}})",
         "field 'service' must be a string, got object"},
        {R"({"node":"piha","type":"x","severity":"catastrophic"})",
         "field 'severity' is 12 bytes, limit 8"},
        {R"({"type":"x"})", "missing field 'node'"},
        {R"({"node":"piha","type":""})", "missing field 'type' (or 'event_type')"},
        {R"({"node":"piha","type":"x","payload":[]})",
         "field 'payload' must be an object, got array"},
        {R"({"node":"piha","type":"x","payload":{"a":{"b":{}}}})",
         "field 'payload' nests deeper than 2 levels"},
        {R"({"node":"piha","type":"x","timestamp":false})",
         "field 'timestamp' must be a string or number, got boolean"},
    };
    for (const auto& [data, words] : refused) {
        INFO(data);
        planner::detail::EventPeek peek;
        REQUIRE(peek.read(data));
        CHECK_FALSE(peek.valid(limits));
        const auto parsed = planner::try_parse_event(nlohmann::json::parse(data), "c", 1.0, limits);
        CHECK_FALSE(parsed);
        CHECK(parsed.error == words);
        CHECK(peek_disagreement(data, limits).empty());
    }
    // `type` wins over `event_type`, which is then not read at all; nulls count as absent.
    for (const char* ok : {R"({"node":"piha","type":"x","event_type":7})",
                           R"({"node":"piha","type":null,"event_type":"x","payload":null})",
                           R"({"node":"piha","type":"x","payload":{"a":{}},"timestamp":"t"})"}) {
        INFO(ok);
        planner::detail::EventPeek peek;
        REQUIRE(peek.read(ok));
        CHECK(peek.valid(limits));
        CHECK(planner::try_parse_event(nlohmann::json::parse(ok), "c", 1.0, limits));
    }
    planner::detail::EventPeek twice;
    REQUIRE(twice.read(R"({"node":"a","node":"piha","type":"x"})"));
    CHECK(twice.repeated());
    CHECK_FALSE(twice.valid(limits));
}
