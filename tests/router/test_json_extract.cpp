/// Finding the one JSON object in what a model wrote.

#include <catch2/catch.hpp>

#include "json_extract.hpp"

using planner::detail::extract_json_object;

namespace {
const nlohmann::json kObject = {{"action", "notify"}, {"note", "a } and a { in a string"}};
}

TEST_CASE("a bare object is taken as is", "[extract]") {
    CHECK(extract_json_object(kObject.dump()).object == kObject);
    CHECK(extract_json_object("\n  " + kObject.dump(2) + "\n\n").object == kObject);
}

TEST_CASE("an object in a fenced code block is found", "[extract]") {
    CHECK(extract_json_object("```json\n" + kObject.dump() + "\n```").object == kObject);
    CHECK(extract_json_object("Sure!\n```\n" + kObject.dump(2) + "\n```\nDone.").object == kObject);
}

TEST_CASE("one object embedded in prose is found", "[extract]") {
    CHECK(extract_json_object("My proposal: " + kObject.dump() + ". Thanks").object == kObject);
    const nlohmann::json nested = {{"a", {{"b", {1, 2, {{"c", "}"}}}}}}};
    CHECK(extract_json_object("x {not json} y " + nested.dump() + " z").object == nested);
    // The same object repeated is still one answer.
    CHECK(extract_json_object(kObject.dump() + "\nagain: " + kObject.dump()).object == kObject);
}

TEST_CASE("anything else is refused with a reason", "[extract]") {
    const std::vector<std::pair<std::string, std::string>> cases{
        {"", "empty answer"},
        {"   \n", "empty answer"},
        {"I would restart the service.", "no JSON object"},
        {"[1, 2, 3]", "no JSON object"},
        {R"({"action": "restart")", "no JSON object"},
        {"{not: json}", "not valid JSON"},
        {R"({"a": 1} or maybe {"a": 2})", "2 different JSON objects"},
        {std::string(100, '{') + std::string(100, '}'), "nested deeper than 64"},
    };
    for (const auto& [text, reason] : cases) {
        INFO(text);
        const auto result = extract_json_object(text);
        CHECK_FALSE(result.object);
        CHECK_THAT(result.error, Catch::Contains(reason));
    }
}

TEST_CASE("a huge answer of unmatched braces is handled in linear time", "[extract]") {
    const std::string text(2'000'000, '{');
    const auto result = extract_json_object(text);  // quadratic scanning would take minutes
    CHECK_FALSE(result.object);
}
