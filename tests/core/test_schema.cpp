#include <limits>

#include <catch2/catch.hpp>

#include "schema_validator.hpp"

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

TEST_CASE("the proposal validator's fast check agrees with valijson on every kind of document",
          "[schema]") {
    // The same schema plus an annotation: not of the kind the fast check compiles, so this one
    // always walks valijson.
    auto annotated = planner::proposal_schema();
    annotated["description"] = "a proposal";
    const planner::SchemaValidator walked(annotated);
    const std::vector<json> values = {"restart",
                                      "redeploy",
                                      "notify",
                                      "ignore",
                                      "reboot",
                                      "",
                                      "Restart",
                                      0,
                                      1,
                                      2,
                                      -1,
                                      0.0,
                                      -0.0,
                                      0.5,
                                      1.0,
                                      1.0000001,
                                      -1e-9,
                                      18446744073709551615ULL,
                                      std::numeric_limits<double>::quiet_NaN(),
                                      std::numeric_limits<double>::infinity(),
                                      true,
                                      false,
                                      nullptr,
                                      json::array(),
                                      json::object(),
                                      json::array({"restart"})};
    std::vector<json> documents = {valid(),       json::array(),  json("restart"),
                                   json(nullptr), json::object(), json(0.5)};
    const json base = valid();
    for (const auto& [key, _] : base.items()) {
        auto without = valid();
        without.erase(key);
        documents.push_back(without);
        for (const auto& v : values) {
            auto changed = valid();
            changed[key] = v;
            documents.push_back(changed);
        }
    }
    auto extra = valid();
    extra["command"] = "rm -rf /";
    documents.push_back(extra);
    auto swapped = valid();  // six properties, one of them unknown
    swapped.erase("reason");
    swapped["reasons"] = "stopped";
    documents.push_back(swapped);
    std::size_t accepted = 0;
    for (const auto& d : documents) {
        CAPTURE(d.dump());
        const auto fast = planner::validate_proposal(d);
        const auto slow = walked.validate(d);
        CHECK(fast.empty() == slow.empty());
        CHECK(planner::to_string(fast) == planner::to_string(slow));
        if (fast.empty()) ++accepted;
    }
    // Both sides are exercised: dozens of valid variants (actions, strings, confidences in
    // [0, 1], booleans) and more than a hundred invalid ones.
    CHECK(accepted >= 30);
    CHECK(documents.size() - accepted >= 100);
}

TEST_CASE("a custom flat schema gets the fast check and keeps valijson's answers", "[schema]") {
    const json flat = {{"type", "object"},
                       {"properties",
                        {{"mode", {{"type", "string"}, {"enum", {"a", "b"}}}},
                         {"level", {{"type", "number"}, {"minimum", -2}, {"maximum", 2.5}}},
                         {"on", {{"type", "boolean"}}}}},
                       {"required", {"mode", "level", "on"}},
                       {"additionalProperties", false}};
    auto annotated = flat;
    annotated["title"] = "walked";
    const planner::SchemaValidator fast(flat);
    const planner::SchemaValidator walked(annotated);
    for (const json& mode : {json("a"), json("b"), json("c"), json(1)}) {
        for (const json& level : {json(-2), json(-2.1), json(0), json(2.5), json(2.6), json("1")}) {
            for (const json& on : {json(true), json(nullptr)}) {
                const json d = {{"mode", mode}, {"level", level}, {"on", on}};
                CAPTURE(d.dump());
                CHECK(planner::to_string(fast.validate(d)) ==
                      planner::to_string(walked.validate(d)));
            }
        }
    }
    CHECK(fast.validate(json{{"mode", "a"}, {"level", 1}, {"on", false}}).empty());
    CHECK_FALSE(fast.validate(json{{"mode", "a"}, {"level", 1}}).empty());
}
