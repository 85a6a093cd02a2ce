// planner-run --replay --clock event: the cooldown and proposal expiry run on the events' own
// timestamps, so two hours of recorded events behave as they did, in well under a second.

#ifdef PLANNER_RUN_PATH

#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "support/planner_run_process.hpp"

using namespace planner::testing;
using namespace std::chrono_literals;

namespace {

const std::string kPlannerRun = PLANNER_RUN_PATH;

/// piha/node-red failing at 08:00, 08:01:40 (inside the 300 s cooldown), 08:06:40 (after it)
/// and 10:00, then one event without a time and one from 09:00 (both keep 10:00's time).
const std::string kTwoHours =
    R"({"type":"service_crashed","node":"piha","service":"node-red","timestamp":"2026-11-28T08:00:00Z"})"
    "\n"
    R"({"type":"service_crashed","node":"piha","service":"node-red","timestamp":"2026-11-28T08:01:40Z"})"
    "\n"
    R"({"type":"service_crashed","node":"piha","service":"node-red","ts":1795853200})"
    "\n"
    R"({"channel":"health_events","data":"{\"type\":\"service_crashed\",\"node\":\"piha\",\"service\":\"node-red\",\"timestamp\":\"2026-11-28T10:00:00Z\"}"})"
    "\n"
    R"({"type":"service_crashed","node":"piha","service":"node-red"})"
    "\n"
    R"({"type":"service_crashed","node":"piha","service":"node-red","timestamp":"2026-11-28T09:00:00Z"})"
    "\n";

std::vector<nlohmann::json> json_lines(const std::string& text) {
    std::vector<nlohmann::json> out;
    for (const auto& line : split_lines(text)) {
        if (!line.empty()) out.push_back(nlohmann::json::parse(line));
    }
    return out;
}

std::size_t count_events(const std::vector<nlohmann::json>& lines, const std::string& name) {
    std::size_t n = 0;
    for (const auto& l : lines) {
        if (l.value("event", "") == name) ++n;
    }
    return n;
}

}  // namespace

TEST_CASE("planner-run --clock event runs the cooldown on the events' timestamps",
          "[planner-run][event_time]") {
    TempDir tmp;
    write_text(tmp / "events.jsonl", kTwoHours);
    const auto run = [&](const std::string& clock) {
        PlannerRunProcess p(kPlannerRun, tmp,
                            {"--replay", (tmp / "events.jsonl").string(), "--dry-run", "--model",
                             "rules", "--cooldown", "300", "--clock", clock},
                            {}, clock);
        REQUIRE(p.wait(60s) == 0);
        return std::make_pair(json_lines(p.stdout_text()), json_lines(p.stderr_text()));
    };
    SECTION("event time: after 300 s of event time a second proposal goes through") {
        const auto [proposals, log] = run("event");
        REQUIRE(proposals.size() == 3);  // 08:00, 08:06:40, 10:00
        CHECK(proposals[0]["timestamp"] == "2026-11-28T08:00:00.000Z");
        CHECK(proposals[1]["timestamp"] == "2026-11-28T08:06:40.000Z");
        CHECK(proposals[2]["timestamp"] == "2026-11-28T10:00:00.000Z");
        CHECK(count_events(log, "event_time_kept") == 2);
        CHECK(log.back()["skipped"]["cooldown"] == 3);
    }
    SECTION("wall time: the whole file arrives within one cooldown") {
        const auto [proposals, log] = run("wall");
        CHECK(proposals.size() == 1);
        CHECK(count_events(log, "event_time_kept") == 0);
        // Behind the first one in the queue (coalesced) or after it (cooldown).
        const auto& skipped = log.back()["skipped"];
        CHECK(skipped["cooldown"].get<int>() + skipped["coalesced"].get<int>() == 5);
    }
}

TEST_CASE("planner-run --clock event expires unanswered proposals in event time",
          "[planner-run][event_time]") {
    TempDir tmp;
    write_text(
        tmp / "events.jsonl",
        R"({"type":"service_crashed","node":"vps","service":"ntfy","timestamp":"2026-11-28T08:00:00Z"})"
        "\n"
        R"({"type":"service_crashed","node":"vps","service":"ntfy","timestamp":"2026-11-28T10:00:00Z"})"
        "\n");
    const auto files = [&](const std::string& clock) {
        const auto dir = tmp / clock;
        PlannerRunProcess p(
            kPlannerRun, tmp,
            {"--replay", (tmp / "events.jsonl").string(), "--model", "rules", "--proposal-ttl",
             "10m", "--clock", clock, "--actions-dir", (dir / "actions").string(), "--events-dir",
             (dir / "events").string(), "--state-dir", (dir / "state").string()},
            {}, clock);
        REQUIRE(p.wait(60s) == 0);
        return files_under(dir / "actions").size();
    };
    // The first proposal expired at 08:10 of event time, so 10:00 proposes again.
    CHECK(files("event") == 2);
    // In wall time the first one is still pending (and in cooldown).
    CHECK(files("wall") == 1);
}

TEST_CASE("planner-run --clock event needs recorded events", "[planner-run][event_time]") {
    TempDir tmp;
    PlannerRunProcess p(kPlannerRun, tmp, {"--clock", "event", "--model", "rules"});
    REQUIRE(p.wait(30s) == 2);
    const auto err = p.stderr_text();
    CHECK(err.find("--clock event needs --replay FILE or --eval FILE") != std::string::npos);
    CHECK(split_lines(err).size() == 1);
    PlannerRunProcess bad(kPlannerRun, tmp, {"--clock", "later", "--replay", "/dev/null"}, {},
                          "bad");
    REQUIRE(bad.wait(30s) == 2);
    CHECK(bad.stderr_text().find("--clock must be wall or event, got 'later'") !=
          std::string::npos);
}

#endif
