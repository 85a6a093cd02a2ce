#include <chrono>
#include <string>

#include <catch2/catch.hpp>

#include <planner/health_event.hpp>

using nlohmann::json;
using planner::parse_event;
using planner::try_parse_event;

namespace {
constexpr double kNow = 1'780'000'000.0;

json base_event() {
    return {{"type", "service_unhealthy"}, {"node", "piha"}, {"service", "mosquitto"}};
}
}  // namespace

TEST_CASE("shape a node agent", "[parse_event]") {
    const json raw = {{"type", "service_unhealthy"},
                      {"node", "piha"},
                      {"service", "mosquitto"},
                      {"severity", "error"},
                      {"payload", {{"status", "exited"}}}};
    const auto ev = parse_event(raw, "health_events");
    REQUIRE(ev);
    CHECK(ev->node == "piha");
    CHECK(ev->service == "mosquitto");
    CHECK(ev->event_type == "service_unhealthy");
    CHECK(ev->severity == "error");
    CHECK(ev->payload == json{{"status", "exited"}});
}

TEST_CASE("shape b world updates", "[parse_event]") {
    const json raw = {{"event_type", "node_offline"},
                      {"node", "chelsty-infra"},
                      {"service", "mosquitto"},
                      {"severity", "critical"}};
    const auto ev = parse_event(raw, "world_updates");
    REQUIRE(ev);
    CHECK(ev->event_type == "node_offline");
    CHECK(ev->node == "chelsty-infra");
    CHECK(ev->severity == "critical");
}

TEST_CASE("missing node returns none", "[parse_event]") {
    CHECK_FALSE(
        parse_event({{"type", "service_unhealthy"}, {"service", "mosquitto"}}, "health_events"));
    const auto r = try_parse_event({{"type", "x"}, {"node", ""}}, "c", kNow);
    CHECK_FALSE(r);
    CHECK(r.error == "missing field 'node'");
}

TEST_CASE("missing type returns none", "[parse_event]") {
    CHECK_FALSE(parse_event({{"node", "piha"}, {"service", "mosquitto"}}, "health_events"));
    CHECK_FALSE(parse_event({{"node", "piha"}, {"type", ""}}, "health_events"));
}

TEST_CASE("service falls back to node", "[parse_event]") {
    const auto ev = parse_event({{"type", "node_offline"}, {"node", "piha"}}, "health_events");
    REQUIRE(ev);
    CHECK(ev->service == "piha");
    const auto ev2 =
        parse_event({{"type", "node_offline"}, {"node", "piha"}, {"service", ""}}, "h");
    REQUIRE(ev2);
    CHECK(ev2->service == "piha");
}

TEST_CASE("severity defaults to warning", "[parse_event]") {
    const auto ev = parse_event(base_event(), "health_events");
    REQUIRE(ev);
    CHECK(ev->severity == "warning");
    CHECK(ev->payload == json::object());
}

TEST_CASE("type wins over event_type when both are present", "[parse_event]") {
    json raw = base_event();
    raw["event_type"] = "node_offline";
    const auto ev = parse_event(raw, "h");
    REQUIRE(ev);
    CHECK(ev->event_type == "service_unhealthy");
}

TEST_CASE("timestamp iso parsed", "[parse_event]") {
    json raw = base_event();
    raw["timestamp"] = "2026-05-27T12:00:00Z";
    const auto r = try_parse_event(raw, "health_events", kNow);
    REQUIRE(r);
    CHECK(r.event->timestamp > 1'700'000'000);
    CHECK(r.event->timestamp == 1'779'883'200.0);
}

TEST_CASE("timestamp iso with offsets and fractions", "[parse_event]") {
    const auto ts = [](const char* text) {
        json raw = base_event();
        raw["timestamp"] = text;
        return try_parse_event(raw, "h", kNow).event->timestamp;
    };
    CHECK(ts("2026-05-27T14:00:00+02:00") == 1'779'883'200.0);
    CHECK(ts("2026-05-27T06:30:00-0530") == 1'779'883'200.0);
    CHECK(ts("2026-05-27T12:00:00.250Z") == Approx(1'779'883'200.25));
    CHECK(ts("2026-05-27 12:00:00") == 1'779'883'200.0);
    CHECK(ts("2026-05-27T12:00Z") == 1'779'883'200.0);
    CHECK(ts("2024-02-29T00:00:00Z") == 1'709'164'800.0);
}

TEST_CASE("unparsable timestamps mean now", "[parse_event]") {
    for (const char* bad :
         {"yesterday", "2026-13-01T00:00:00Z", "2026-02-30T00:00:00Z", "2026-05-27T25:00:00Z",
          "2026-05-27T12:00:00+2", "2026-05-27", "2026-05-27T12:00:00Zjunk", ""}) {
        INFO(bad);
        json raw = base_event();
        raw["timestamp"] = bad;
        const auto r = try_parse_event(raw, "h", kNow);
        REQUIRE(r);
        CHECK(r.event->timestamp == kNow);
    }
}

TEST_CASE("missing timestamp means now", "[parse_event]") {
    const auto r = try_parse_event(base_event(), "h", kNow);
    REQUIRE(r);
    CHECK(r.event->timestamp == kNow);
    const auto before =
        std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
    const auto ev = parse_event(base_event(), "h");
    REQUIRE(ev);
    CHECK(ev->timestamp >= before - 1);
}

TEST_CASE("timestamp numeric accepted", "[parse_event]") {
    json raw = base_event();
    raw["timestamp"] = 1'779'883'200.5;
    CHECK(try_parse_event(raw, "h", kNow).event->timestamp == Approx(1'779'883'200.5));
    raw["timestamp"] = 1'779'883'200;
    CHECK(try_parse_event(raw, "h", kNow).event->timestamp == 1'779'883'200.0);
}

TEST_CASE("timestamp in milliseconds is recognised", "[parse_event]") {
    json raw = base_event();
    raw["timestamp"] = 1'779'883'200'123LL;
    CHECK(try_parse_event(raw, "h", kNow).event->timestamp == Approx(1'779'883'200.123));
}

TEST_CASE("negative or zero numeric timestamp means now", "[parse_event]") {
    json raw = base_event();
    raw["timestamp"] = -5;
    CHECK(try_parse_event(raw, "h", kNow).event->timestamp == kNow);
    raw["timestamp"] = 0;
    CHECK(try_parse_event(raw, "h", kNow).event->timestamp == kNow);
}

TEST_CASE("channel stored", "[parse_event]") {
    const auto ev = parse_event(base_event(), "world_updates");
    REQUIRE(ev);
    CHECK(ev->raw_channel == "world_updates");
}

TEST_CASE("non-object events are rejected", "[parse_event]") {
    for (const json& raw :
         {json(42), json("text"), json::array({1, 2}), json(nullptr), json(true)}) {
        const auto r = try_parse_event(raw, "h", kNow);
        CHECK_FALSE(r);
        CHECK_THAT(r.error, Catch::StartsWith("event must be a JSON object"));
    }
}

TEST_CASE("wrong JSON types for every field are rejected", "[parse_event]") {
    const std::vector<std::pair<std::string, json>> cases = {
        {"node", 42},
        {"node", json::array()},
        {"node", true},
        {"type", 7},
        {"type", json::object()},
        {"service", 1.5},
        {"service", json::array({"a"})},
        {"severity", 3},
        {"severity", false},
        {"payload", "text"},
        {"payload", json::array()},
        {"payload", 12},
        {"timestamp", true},
        {"timestamp", json::object()},
        {"timestamp", json::array()},
    };
    for (const auto& [field, value] : cases) {
        json raw = base_event();
        raw[field] = value;
        const auto r = try_parse_event(raw, "h", kNow);
        INFO(field << " = " << value.dump());
        CHECK_FALSE(r);
        CHECK_THAT(r.error, Catch::Contains("'" + field + "'"));
        CHECK_FALSE(parse_event(raw, "h"));
    }
}

TEST_CASE("event_type of the wrong type is rejected in shape b", "[parse_event]") {
    const auto r = try_parse_event({{"event_type", 5}, {"node", "piha"}}, "h", kNow);
    CHECK_FALSE(r);
    CHECK_THAT(r.error, Catch::Contains("'event_type'"));
}

TEST_CASE("null fields count as missing", "[parse_event]") {
    json raw = base_event();
    raw["service"] = nullptr;
    raw["payload"] = nullptr;
    raw["timestamp"] = nullptr;
    raw["severity"] = nullptr;
    const auto r = try_parse_event(raw, "h", kNow);
    REQUIRE(r);
    CHECK(r.event->service == "piha");
    CHECK(r.event->payload == json::object());
    CHECK(r.event->timestamp == kNow);
}

TEST_CASE("overlong names are rejected", "[parse_event]") {
    json raw = base_event();
    raw["service"] = std::string(10'000, 'x');
    const auto r = try_parse_event(raw, "h", kNow);
    CHECK_FALSE(r);
    CHECK_THAT(r.error, Catch::Contains("10000 bytes"));
    raw["service"] = std::string(256, 'x');
    CHECK(try_parse_event(raw, "h", kNow));
}

TEST_CASE("huge payload is accepted", "[parse_event]") {
    json raw = base_event();
    raw["payload"] = {{"log", std::string(5 * 1024 * 1024, 'a')}};
    const auto r = try_parse_event(raw, "h", kNow);
    REQUIRE(r);
    CHECK(r.event->payload["log"].get_ref<const std::string&>().size() == 5u * 1024 * 1024);
}

TEST_CASE("deeply nested payload is rejected without recursion", "[parse_event]") {
    // Built iteratively: 10 000 levels, the shape a hostile publisher would send.
    json payload = json::object();
    for (int i = 0; i < 10'000; ++i) {
        json outer = json::object();
        outer["a"] = std::move(payload);
        payload = std::move(outer);
    }
    json raw = base_event();
    raw["payload"] = std::move(payload);
    const auto r = try_parse_event(raw, "h", kNow);
    CHECK_FALSE(r);
    CHECK_THAT(r.error, Catch::Contains("nests deeper than 64"));
}

TEST_CASE("payload at the depth limit is accepted", "[parse_event]") {
    json payload = json::object();
    for (int i = 1; i < 64; ++i) payload = json{{"a", payload}};
    REQUIRE(planner::detail::json_depth(payload) == 64);
    json raw = base_event();
    raw["payload"] = payload;
    CHECK(try_parse_event(raw, "h", kNow));
}

TEST_CASE("json text depth scan ignores brackets in strings", "[parse_event]") {
    using planner::detail::json_text_exceeds_depth;
    CHECK_FALSE(json_text_exceeds_depth(R"({"a":"[[[[[[[[[["})", 3));
    CHECK(json_text_exceeds_depth(R"({"a":[[[1]]]})", 3));
    CHECK_FALSE(json_text_exceeds_depth(R"({"a":"\"[[[[[[[["})", 2));
    CHECK(json_text_exceeds_depth(std::string(10'000, '['), 64));
}

TEST_CASE("a document passed as an rvalue gives its payload away", "[parse_event]") {
    json raw = base_event();
    raw["payload"] = {{"exit_code", 137}, {"log", std::string(1000, 'x')}};
    const json expected = raw["payload"];
    const auto copied = try_parse_event(raw, "health_events", kNow);
    REQUIRE(copied);
    CHECK(raw["payload"] == expected);
    const auto moved = try_parse_event(std::move(raw), "health_events", kNow);
    REQUIRE(moved);
    CHECK(moved.event->payload == expected);
    CHECK(moved.event->svc_key() == copied.event->svc_key());
    CHECK(moved.event->event_type == copied.event->event_type);
}

TEST_CASE("a rejected rvalue document is left as it was", "[parse_event]") {
    json raw = base_event();
    raw["payload"] = {{"a", 1}};
    raw["timestamp"] = true;
    const json before = raw;
    const auto parsed = try_parse_event(std::move(raw), "health_events", kNow);
    CHECK_FALSE(parsed);
    CHECK(raw == before);  // NOLINT(bugprone-use-after-move): documented to be unchanged
}
