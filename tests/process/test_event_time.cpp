// planner-run --replay --clock event: the cooldown, proposal expiry, remediation budget, flap
// escalation, dependency inhibition and silences run on the events' own timestamps, so hours of
// recorded events behave as they did, in well under a second.

#ifdef PLANNER_RUN_PATH

#include <map>

#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "support/action_files.hpp"
#include "support/planner_run_process.hpp"
#include "support/provider_server.hpp"
#include "support/vps_topology.hpp"
#include "support/wire_formats.hpp"

using namespace planner::testing;
using namespace std::chrono_literals;

namespace {

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

/// Log lines with `event` == `name`.
std::vector<nlohmann::json> log_events(const std::vector<nlohmann::json>& lines,
                                       const std::string& name) {
    std::vector<nlohmann::json> out;
    for (const auto& l : lines) {
        if (l.value("event", "") == name) out.push_back(l);
    }
    return out;
}

std::size_t count_events(const std::vector<nlohmann::json>& lines, const std::string& name) {
    return log_events(lines, name).size();
}

/// One recorded event: `type` on `node`/`service` at `timestamp` (ISO 8601), as a JSON line.
std::string event_at(const std::string& node, const std::string& service,
                     const std::string& timestamp, const std::string& type = "service_crashed") {
    return nlohmann::json{
               {"type", type}, {"node", node}, {"service", service}, {"timestamp", timestamp}}
               .dump() +
           "\n";
}

/// The action files under `tmp`/actions, oldest proposal first (by their `timestamp`).
std::vector<nlohmann::json> actions_by_time(const TempDir& tmp) {
    std::vector<nlohmann::json> out;
    for (const auto& path : files_under(tmp / "actions")) {
        out.push_back(nlohmann::json::parse(read_text(path)));
    }
    std::stable_sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
        return a["timestamp"].template get<std::string>() <
               b["timestamp"].template get<std::string>();
    });
    return out;
}

/// `tmp`/events.jsonl replayed with `tmp`/planner.yaml (run_replay_in_dir) on `clock`, debug
/// logs; it must exit 0. Returns its JSON log lines.
std::vector<nlohmann::json> replay(const TempDir& tmp, const std::string& model_spec,
                                   const std::string& clock) {
    auto r = run_replay_in_dir(kPlannerRun, tmp, model_spec, clock,
                               {"--clock", clock, "--log-level", "debug"});
    REQUIRE(r.exit_code == 0);
    return r.lines;
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

TEST_CASE("planner-run --clock event runs the remediation budget's window in event time",
          "[planner-run][event_time][budget]") {
    TempDir tmp;
    ProviderServer model;  // always "restart, no human needed", so each would take budget
    model.respond_with(
        [](const RecordedRequest&) { return OllamaWire::answer(valid_proposal().dump()); });
    write_text(tmp / "planner.yaml", "rules:\n  budget: {per_node: 2, window: 1h}\n");
    // A new service each time, so neither the cooldown nor a pending proposal skips one.
    write_text(tmp / "events.jsonl", event_at("piha", "a", "2026-11-28T08:00:00Z") +
                                         event_at("piha", "b", "2026-11-28T08:30:00Z") +
                                         event_at("piha", "c", "2026-11-28T08:45:00Z") +
                                         event_at("piha", "d", "2026-11-28T09:10:00Z") +
                                         event_at("piha", "e", "2026-11-28T09:20:00Z"));
    const auto lines = replay(tmp, "ollama/qwen2.5:7b@" + model.url(), "event");
    INFO(lines.back().dump());
    const auto actions = actions_by_time(tmp);
    REQUIRE(actions.size() == 5);
    const std::string used_up = "automatic budget of 2 per hour on piha used up";
    std::map<std::string, bool> human;
    for (const auto& a : actions) {
        human[a["service"].get<std::string>()] = a["requires_human"].get<bool>();
        CHECK(mentions(a, used_up) == a["requires_human"].get<bool>());
    }
    CHECK_FALSE(human["a"]);
    CHECK_FALSE(human["b"]);
    CHECK(human["c"]);  // 08:45: the third automatic one within the hour (08:00, 08:30)
    // 09:10: 08:00 left the window; c went to a human, so only b counts.
    CHECK_FALSE(human["d"]);
    CHECK(human["e"]);  // 09:20: b and d within the hour
    CHECK(actions[2]["timestamp"] == "2026-11-28T08:45:00.000Z");
    CHECK(lines.back()["event"] == "planner_stopped");
    CHECK(lines.back()["budget_forced_human"] == 2);
    const auto warned = log_events(lines, "budget_used_up");
    REQUIRE(warned.size() == 2);
    CHECK(warned[0]["key"] == "piha/c");
    CHECK(warned[1]["key"] == "piha/e");
}

TEST_CASE("planner-run --clock event escalates the third proposal within 6 h of event time",
          "[planner-run][event_time][escalation]") {
    TempDir tmp;
    // Each proposal expires unanswered 10 min later (event time), so the next event for the
    // service is planned; the events lie past the 5 min cooldown.
    write_text(tmp / "planner.yaml",
               "cooldown: 5m\nproposal_ttl: 10m\nrules:\n  escalate: {after: 3, window: 6h}\n");
    write_text(tmp / "events.jsonl",
               event_at("piha", "node-red", "2026-11-28T08:00:00Z") +
                   event_at("piha", "node-red", "2026-11-28T09:00:00Z") +
                   event_at("piha", "node-red", "2026-11-28T13:00:00Z") +
                   // 7 h after 09:00: only the 13:00 one is within the window.
                   event_at("piha", "node-red", "2026-11-28T20:00:00Z"));
    const auto lines = replay(tmp, "rules", "event");
    INFO(lines.back().dump());
    const auto actions = actions_by_time(tmp);
    REQUIRE(actions.size() == 4);
    CHECK(actions[0].value("escalated", false) == false);
    CHECK(actions[1].value("escalated", false) == false);
    const auto& third = actions[2];
    CHECK(third["timestamp"] == "2026-11-28T13:00:00.000Z");
    CHECK(third["escalated"] == true);
    CHECK(third["requires_human"] == true);
    REQUIRE(third["history"].size() == 2);
    CHECK(third["history"][0]["action_id"] == actions[0]["action_id"]);
    CHECK(third["history"][1]["action_id"] == actions[1]["action_id"]);
    // Expired on disk at their own time: the replay sweeps at the sweeper's interval of event
    // time, so the history says what that day's planner would have read.
    CHECK(third["history"][0]["status"] == "expired");
    CHECK(third["history"][1]["status"] == "expired");
    CHECK(actions[3].value("escalated", false) == false);
    const auto escalated = log_events(lines, "proposal_escalated");
    REQUIRE(escalated.size() == 1);
    CHECK(escalated[0]["reasons"] == nlohmann::json::array({"flapping"}));
    CHECK(lines.back()["escalated"]["proposal"] == 1);
}

TEST_CASE("planner-run --clock event inhibits a dependent within the window of event time",
          "[planner-run][event_time][inhibit]") {
    TempDir tmp;
    // The root's proposal expires at 08:10 of event time: a pending one would inhibit too.
    write_text(tmp / "planner.yaml", "proposal_ttl: 10m\n" + kVpsInhibitYaml);
    write_text(tmp / "events.jsonl", event_at("vps", "traefik", "2026-11-28T08:00:00Z") +
                                         event_at("vps", "vaultwarden", "2026-11-28T08:02:00Z") +
                                         event_at("vps", "vaultwarden", "2026-11-28T08:20:00Z"));
    SECTION("event time: 2 min after the root inhibited, 20 min after planned") {
        const auto lines = replay(tmp, "rules", "event");
        INFO(lines.back().dump());
        const auto actions = actions_by_time(tmp);
        REQUIRE(actions.size() == 2);
        CHECK(actions[0]["service"] == "traefik");
        CHECK(actions[0]["affected"] == nlohmann::json::array({"vps/vaultwarden"}));
        CHECK(actions[1]["service"] == "vaultwarden");
        CHECK(actions[1]["timestamp"] == "2026-11-28T08:20:00.000Z");
        const auto inhibited = log_events(lines, "skip_inhibited");
        REQUIRE(inhibited.size() == 1);
        CHECK(inhibited[0]["key"] == "vps/vaultwarden");
        CHECK(inhibited[0]["by"] == "vps/traefik");
        CHECK(lines.back()["skipped"]["inhibited"] == 1);
    }
    SECTION("wall time: the whole file arrives within the window, both are inhibited") {
        const auto lines = replay(tmp, "rules", "wall");
        const auto actions = actions_by_time(tmp);
        REQUIRE(actions.size() == 1);
        CHECK(actions[0]["service"] == "traefik");
        CHECK(lines.back()["skipped"]["inhibited"] == 2);
    }
}

TEST_CASE("planner-run --clock event judges the state directory's silences at event time",
          "[planner-run][event_time][silences]") {
    TempDir tmp;
    write_text(tmp / "planner.yaml", "cooldown: 5m\n");
    // As planner-ctl silence add writes it: piha/* from 08:00 to 09:00 (a window that day).
    std::filesystem::create_directories(tmp / "state");
    write_text(tmp / "state" / "silences.json",
               nlohmann::json{{"silences", nlohmann::json::array({{
                                               {"id", "sil-maintenance"},
                                               {"match", "piha/*"},
                                               {"created_at", "2026-11-28T08:00:00.000Z"},
                                               {"ends_at", "2026-11-28T09:00:00.000Z"},
                                               {"created_by", "alice"},
                                               {"reason", "kernel upgrade"},
                                           }})}}
                   .dump(2));
    // A new service each time, so only the silence can skip one.
    write_text(tmp / "events.jsonl", event_at("piha", "a", "2026-11-28T07:59:59Z") +
                                         event_at("piha", "b", "2026-11-28T08:00:00Z") +
                                         event_at("solaria", "c", "2026-11-28T08:30:00Z") +
                                         event_at("piha", "d", "2026-11-28T08:59:59Z") +
                                         event_at("piha", "e", "2026-11-28T09:00:00Z"));
    SECTION("event time: only the events inside the window are silenced") {
        const auto lines = replay(tmp, "rules", "event");
        INFO(lines.back().dump());
        std::vector<std::string> planned;
        for (const auto& a : actions_by_time(tmp)) planned.push_back(a["service"]);
        CHECK(planned == std::vector<std::string>{"a", "c", "e"});
        const auto silenced = log_events(lines, "skip_silenced");
        REQUIRE(silenced.size() == 2);
        CHECK(silenced[0]["key"] == "piha/b");
        CHECK(silenced[1]["key"] == "piha/d");
        CHECK(silenced[0]["silence_id"] == "sil-maintenance");
        CHECK(lines.back()["skipped"]["silenced"] == 2);
    }
    SECTION("wall time: the silence ended long ago, nothing is silenced") {
        const auto lines = replay(tmp, "rules", "wall");
        CHECK(actions_by_time(tmp).size() == 5);
        CHECK(lines.back()["skipped"]["silenced"] == 0);
    }
}

#endif
