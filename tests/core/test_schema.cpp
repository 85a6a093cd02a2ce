#include <catch2/catch.hpp>

#include <planner/schema_validator.hpp>

using nlohmann::json;

namespace {
json valid() {
    return {{"action", "restart"}, {"service", "mosquitto"}, {"node", "piha"},
            {"reason", "stopped"}, {"confidence", 0.9},      {"requires_human", false}};
}
}  // namespace

TEST_CASE("schema requires every field", "[schema]") {
    const auto& s = planner::proposal_schema();
    std::vector<std::string> required = s["required"];
    std::sort(required.begin(), required.end());
    CHECK(required == std::vector<std::string>{"action", "confidence", "node", "reason",
                                               "requires_human", "service"});
    CHECK(s["properties"]["action"]["enum"] ==
          json::array({"restart", "redeploy", "notify", "ignore"}));
    CHECK(&planner::proposal_schema() == &s);  // parsed once
}

TEST_CASE("valid proposal passes", "[schema]") {
    CHECK(planner::validate_proposal(valid()).empty());
    auto edge = valid();
    edge["confidence"] = 0;
    CHECK(planner::validate_proposal(edge).empty());
    edge["confidence"] = 1;
    CHECK(planner::validate_proposal(edge).empty());
}

TEST_CASE("action outside the enum is invalid", "[schema]") {
    auto p = valid();
    p["action"] = "reboot";
    const auto errors = planner::validate_proposal(p);
    REQUIRE_FALSE(errors.empty());
    CHECK(errors.front().pointer == "/action");
    CHECK_THAT(planner::to_string(errors), Catch::Contains("/action"));
}

TEST_CASE("confidence above one is invalid", "[schema]") {
    auto p = valid();
    p["confidence"] = 1.7;
    const auto errors = planner::validate_proposal(p);
    REQUIRE_FALSE(errors.empty());
    CHECK(errors.front().pointer == "/confidence");
    p["confidence"] = -0.1;
    CHECK_FALSE(planner::validate_proposal(p).empty());
    p["confidence"] = "0.9";
    CHECK_FALSE(planner::validate_proposal(p).empty());
}

TEST_CASE("each missing field is reported", "[schema]") {
    for (auto field : {"action", "service", "node", "reason", "confidence", "requires_human"}) {
        auto p = valid();
        p.erase(field);
        const auto text = planner::to_string(planner::validate_proposal(p));
        INFO(field << ": " << text);
        CHECK_THAT(text, Catch::Contains(field));
    }
}

TEST_CASE("wrong types are invalid", "[schema]") {
    auto p = valid();
    p["requires_human"] = "false";
    CHECK_FALSE(planner::validate_proposal(p).empty());
    p = valid();
    p["service"] = 5;
    CHECK_FALSE(planner::validate_proposal(p).empty());
    CHECK_FALSE(planner::validate_proposal(json::array()).empty());
    CHECK_FALSE(planner::validate_proposal(json("restart")).empty());
}

TEST_CASE("extra properties are invalid", "[schema]") {
    auto p = valid();
    p["command"] = "rm -rf /";
    CHECK_FALSE(planner::validate_proposal(p).empty());
}

TEST_CASE("custom schema validator", "[schema]") {
    const planner::SchemaValidator v(json{{"type", "object"}, {"required", {"x"}}});
    CHECK(v.validate(json{{"x", 1}}).empty());
    CHECK_FALSE(v.validate(json::object()).empty());
}

TEST_CASE("unusable schema is rejected with a clear error", "[schema]") {
    CHECK_THROWS_AS(planner::SchemaValidator(json{{"type", 42}}), std::invalid_argument);
}

TEST_CASE("error string joins pointer and description", "[schema]") {
    const std::vector<planner::ValidationError> errors{{"/a", "bad"}, {"", "worse"}};
    CHECK(planner::to_string(errors) == "/a: bad; /: worse");
}

TEST_CASE("schema uses only keywords every strict mode accepts", "[schema]") {
    // OpenAI's strict structured outputs reject string length keywords: a hosted fallback
    // would fail on every call.
    const auto text = planner::proposal_schema().dump();
    for (auto keyword : {"minLength", "maxLength", "pattern", "format"}) {
        INFO(keyword);
        CHECK(text.find(keyword) == std::string::npos);
    }
    CHECK(planner::proposal_schema()["additionalProperties"] == false);
}
