// Dependency-aware suppression through the agent (fakes, injected clock). Through planner-run
// --replay with a configuration file: process/test_inhibit.cpp.

#include <chrono>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include "planner/agent.hpp"
#include "planner/agent_testing.hpp"
#include "planner/file_action_store.hpp"
#include "planner/file_sinks.hpp"
#include "planner/testing.hpp"
#include "support/action_store_dirs.hpp"
#include "support/agent_fixture.hpp"
#include "support/gate.hpp"
#include "support/temp_dir.hpp"

using namespace planner;
using namespace planner::testing;
using namespace std::chrono_literals;

namespace {

PlannerAgentOptions vps_options() {
    PlannerAgentOptions o;
    o.prompt.topology.nodes = {
        {"vps", "cloud", {{"traefik"}, {"vaultwarden", {"traefik"}}}},
        {"piha", "hub", {{"mosquitto"}, {"zigbee2mqtt"}}},
    };
    return o;
}

/// Knows one pending proposal, for vps/traefik.
struct OnePendingProposal : PendingProposals {
    std::optional<std::string> find_pending(std::string_view node,
                                            std::string_view service) override {
        if (node == "vps" && service == "traefik") return std::string("act-traefik");
        return std::nullopt;
    }
    PendingOccurrence note_occurrence(const std::string&,
                                      std::chrono::system_clock::time_point) noexcept override {
        return {2, false};
    }
    void added(const ActionProposal&) override {}
};

}  // namespace

TEST_CASE(
    "an event for a dependent of an open incident is inhibited, then planned after the "
    "window",
    "[inhibit]") {
    AgentFixture f(make_route_result(), vps_options());
    CHECK(handle_event(f.agent, make_health_event("vps", "traefik")) == HandleResult::proposed);
    CHECK(handle_event(f.agent, make_health_event("vps", "vaultwarden")) ==
          HandleResult::inhibited);
    CHECK(f.agent.dispatch_text("health", event_json("vps", "vaultwarden")) ==
          IntakeResult::inhibited);
    CHECK(DispatchOutcome{IntakeResult::inhibited, std::nullopt}.settled());
    CHECK(f.router.calls().size() == 1);
    CHECK(f.actions.written().size() == 1);
    auto c = f.agent.counters();
    CHECK(c.inhibited == 2);
    CHECK(c.to_json()["skipped"]["inhibited"] == 2);
    const auto lines = f.log.lines("skip_inhibited");
    REQUIRE(lines.size() == 2);
    CHECK(lines[0].level == LogLevel::debug);
    CHECK(lines[0].fields["key"] == "vps/vaultwarden");
    CHECK(lines[0].fields["by"] == "vps/traefik");

    // An unrelated service on the same node is planned.
    CHECK(handle_event(f.agent, make_health_event("piha", "mosquitto")) == HandleResult::proposed);

    f.clock.advance(10min);
    CHECK(handle_event(f.agent, make_health_event("vps", "vaultwarden")) == HandleResult::proposed);
    CHECK(f.router.calls().size() == 3);
    CHECK(f.agent.counters().inhibited == 2);
}

TEST_CASE("a node_offline event inhibits the node's services and is itself planned", "[inhibit]") {
    AgentFixture f(make_route_result(), vps_options());
    CHECK(handle_event(f.agent, make_health_event("piha", "host", "node_offline")) ==
          HandleResult::proposed);
    CHECK(handle_event(f.agent, make_health_event("piha", "mosquitto")) == HandleResult::inhibited);
    CHECK(handle_event(f.agent, make_health_event("piha", "zigbee2mqtt")) ==
          HandleResult::inhibited);
    CHECK(handle_event(f.agent, make_health_event("vps", "traefik")) == HandleResult::proposed);
    CHECK(f.router.calls().size() == 2);
    CHECK(f.log.lines("skip_inhibited").at(0).fields["by"] == "piha/host");
}

TEST_CASE("a pending proposal for a dependency keeps inhibiting past the window", "[inhibit]") {
    ManualClock clock;
    FakeRouter router([](const std::vector<ChatMessage>&) { return make_route_result(); });
    RecordingActionSink actions;
    RecordingEventSink events;
    RecordingLogSink log;
    OnePendingProposal pending;
    PlannerAgent agent(vps_options(), {.router = router,
                                       .actions = actions,
                                       .events = events,
                                       .log = log,
                                       .steady = clock.steady_source(),
                                       .wall = clock.wall_source(),
                                       .pending = &pending});
    clock.advance(1h);
    CHECK(handle_event(agent, make_health_event("vps", "vaultwarden")) == HandleResult::inhibited);
    CHECK(log.lines("skip_inhibited").at(0).fields["by"] == "vps/traefik");
    CHECK(router.calls().empty());
}

TEST_CASE("inhibit_window zero turns inhibition off", "[inhibit]") {
    auto options = vps_options();
    options.rules.inhibit_window = 0ms;
    AgentFixture f(make_route_result(), options);
    CHECK(handle_event(f.agent, make_health_event("vps", "traefik")) == HandleResult::proposed);
    CHECK(handle_event(f.agent, make_health_event("vps", "vaultwarden")) == HandleResult::proposed);
    CHECK(f.agent.counters().inhibited == 0);
}

TEST_CASE("the root proposal lists the symptoms it inhibited, also those that come later",
          "[inhibit][affected]") {
    TempDir tmp;
    ManualClock clock;
    auto options = vps_options();
    options.prompt.topology.nodes[0].services.push_back({"nextcloud", {"traefik"}});
    const auto so = action_store_dirs(tmp.path());
    FileActionSink sink(so.actions_dir, {false});
    FileActionStore store(so, nullptr, clock.wall_source());
    Gate gate;  // holds the root cause's model call, so a symptom comes before its file
    FakeRouter router([&](const std::vector<ChatMessage>&) {
        gate.enter();
        return make_route_result();
    });
    RecordingEventSink events;
    RecordingLogSink log;
    PlannerAgent agent(options, {.router = router,
                                 .actions = sink,
                                 .events = events,
                                 .log = log,
                                 .steady = clock.steady_source(),
                                 .wall = clock.wall_source(),
                                 .pending = &store});
    agent.start();
    REQUIRE(agent.dispatch_text("health", event_json("vps", "traefik")) == IntakeResult::queued);
    REQUIRE(gate.wait_entered(1));
    CHECK(agent.dispatch_text("health", event_json("vps", "vaultwarden")) ==
          IntakeResult::inhibited);
    CHECK(agent.dispatch_text("health", event_json("vps", "vaultwarden")) ==
          IntakeResult::inhibited);
    gate.open();
    REQUIRE(agent.wait_idle(10s));
    const auto root = [&] {
        const auto files = as_json(store.list());
        REQUIRE(files.size() == 1);
        CHECK(files[0]["service"] == "traefik");
        return files[0];
    };
    CHECK(root()["affected"] == nlohmann::json::array({"vps/vaultwarden"}));  // once

    // While the proposal is pending, a new symptom is appended to its file, an old one is not.
    CHECK(agent.dispatch_text("health", event_json("vps", "nextcloud")) == IntakeResult::inhibited);
    CHECK(agent.dispatch_text("health", event_json("vps", "vaultwarden")) ==
          IntakeResult::inhibited);
    REQUIRE(agent.wait_idle(10s));  // recorded on the follow-up thread
    CHECK(root()["affected"] == nlohmann::json::array({"vps/vaultwarden", "vps/nextcloud"}));
    CHECK(root()["status"] == "pending");

    // A decided proposal is not changed any more.
    const std::string id = root()["action_id"];
    store.reject(id, "alice", "not now");
    CHECK(store.note_affected(id, {"vps/other"}) == false);
    CHECK(root()["affected"].size() == 2);
    agent.stop();
}

TEST_CASE("a proposal without symptoms has no affected field", "[inhibit][affected]") {
    AgentFixture f(make_route_result(), vps_options());
    CHECK(handle_event(f.agent, make_health_event("vps", "traefik")) == HandleResult::proposed);
    REQUIRE(f.actions.written().size() == 1);
    CHECK(f.actions.written()[0].affected.empty());
    CHECK_FALSE(f.actions.written()[0].to_action_file().contains("affected"));
}

namespace {

/// Knows one pending proposal (vps/traefik, seen `occurrences` times so far) and remembers
/// which thread recorded anything on it.
struct ThreadRecordingPending : PendingProposals {
    std::optional<std::string> find_pending(std::string_view node,
                                            std::string_view service) override {
        if (node == "vps" && service == "traefik") return std::string("act-traefik");
        return std::nullopt;
    }
    PendingOccurrence note_occurrence(const std::string&,
                                      std::chrono::system_clock::time_point) noexcept override {
        std::lock_guard lock(mutex);
        writers.push_back(std::this_thread::get_id());
        return {++occurrences, escalations > 0};  // as a store remembers the mark
    }
    void added(const ActionProposal&) override {}
    std::optional<ActionFile> escalate_pending(const std::string& id, const std::string&,
                                               const nlohmann::json&) noexcept override {
        std::lock_guard lock(mutex);
        writers.push_back(std::this_thread::get_id());
        ++escalations;
        ActionFile file;
        file.action_id = id;
        file.node = "vps";
        file.service = "traefik";
        file.escalated = true;
        return file;
    }
    bool note_affected(const std::string&, const std::vector<std::string>& keys) noexcept override {
        std::lock_guard lock(mutex);
        writers.push_back(std::this_thread::get_id());
        affected.insert(affected.end(), keys.begin(), keys.end());
        return true;
    }

    std::mutex mutex;
    std::vector<std::thread::id> writers;
    std::vector<std::string> affected;
    std::size_t occurrences = 1;
    int escalations = 0;
};

}  // namespace

TEST_CASE("intake screens without writing: follow-ups are recorded on another thread",
          "[inhibit][pending][follow_up]") {
    ManualClock clock;
    FakeRouter router([](const std::vector<ChatMessage>&) { return make_route_result(); });
    RecordingActionSink actions;
    RecordingEventSink events;
    RecordingLogSink log;
    ThreadRecordingPending pending;
    auto options = vps_options();
    options.rules.escalate.after = 2;
    PlannerAgent agent(options, {.router = router,
                                 .actions = actions,
                                 .events = events,
                                 .log = log,
                                 .steady = clock.steady_source(),
                                 .wall = clock.wall_source(),
                                 .pending = &pending});
    agent.start();
    CHECK(agent.dispatch_text("health", event_json("vps", "traefik")) == IntakeResult::pending);
    CHECK(agent.dispatch_text("health", event_json("vps", "vaultwarden")) ==
          IntakeResult::inhibited);
    REQUIRE(agent.wait_idle(10s));
    {
        std::lock_guard lock(pending.mutex);
        // note_occurrence, escalate_pending (2 occurrences reach `after`), note_affected.
        REQUIRE(pending.writers.size() == 3);
        for (const auto& id : pending.writers) CHECK(id != std::this_thread::get_id());
        CHECK(pending.affected == std::vector<std::string>{"vps/vaultwarden"});
        CHECK(pending.escalations == 1);
    }
    CHECK(agent.counters().escalated_pending == 1);
    CHECK(log.lines("proposal_escalated").size() == 1);
    agent.stop();

    // handle_event is not intake: its caller waits anyway, and records on its own thread.
    PlannerAgent sync(options, {.router = router,
                                .actions = actions,
                                .events = events,
                                .log = log,
                                .steady = clock.steady_source(),
                                .wall = clock.wall_source(),
                                .pending = &pending});
    CHECK(handle_event(sync, make_health_event("vps", "traefik")) == HandleResult::pending);
    std::lock_guard lock(pending.mutex);
    REQUIRE(pending.writers.size() == 4);
    CHECK(pending.writers.back() == std::this_thread::get_id());
}
