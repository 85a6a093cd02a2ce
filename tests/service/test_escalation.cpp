// Flap escalation through the agent (ManualClock, the real ActionStore and FileActionSink over
// a temporary directory), and across a restart (a second agent over the same directories).
// Through planner-run: process/test_escalation.cpp; the decision: core/test_escalation.cpp.

#include <chrono>
#include <filesystem>
#include <map>

#include <catch2/catch.hpp>

#include "planner/agent.hpp"
#include "planner/agent_testing.hpp"
#include "planner/file_action_store.hpp"
#include "planner/file_sinks.hpp"
#include "planner/plan.hpp"
#include "planner/testing.hpp"
#include "support/action_files.hpp"
#include "support/action_store_dirs.hpp"
#include "support/agent_fixture.hpp"
#include "support/temp_dir.hpp"

using planner::testing::as_json;

using namespace planner;
using namespace planner::testing;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

/// The FileActionSink, recording what it is told about escalated pending proposals.
class EscalationRecordingSink final : public ActionSink {
  public:
    explicit EscalationRecordingSink(const fs::path& dir) : files_(dir, {false}) {}
    std::string write(const ActionProposal& p) override { return files_.write(p); }
    void escalated(const ActionProposal& p) override {
        std::lock_guard lock(mutex_);
        escalated_.push_back(p);
    }
    std::vector<ActionProposal> escalated_ones() const {
        std::lock_guard lock(mutex_);
        return escalated_;
    }

  private:
    FileActionSink files_;
    mutable std::mutex mutex_;
    std::vector<ActionProposal> escalated_;
};

/// One planner over `dir`: the agent asks the ActionStore the sink writes into. The router
/// answers with `next_action` (restart unless changed).
struct Planner {
    /// `seeded`: the agent is given the store's start-up scan, as PlannerService does.
    Planner(const fs::path& dir, ManualClock& clock, EscalationRules rules = {3, 6h},
            bool seeded = false)
        : sink(dir / "actions"),
          store(store_options(dir), nullptr, clock.wall_source()),
          history(seeded ? store.take_startup_scan() : std::vector<ActionFile>{}),
          router([this](const std::vector<ChatMessage>&) {
              std::lock_guard lock(action_mutex);
              return make_route_result(next_action, "a");
          }),
          agent(agent_options(rules), {.router = router,
                                       .actions = sink,
                                       .events = events,
                                       .log = log,
                                       .steady = clock.steady_source(),
                                       .wall = clock.wall_source(),
                                       .pending = &store,
                                       .history = &history}) {}

    static ActionStoreOptions store_options(const fs::path& dir) {
        fs::create_directories(dir / "actions");
        return action_store_dirs(dir);
    }
    static PlannerAgentOptions agent_options(EscalationRules rules) {
        PlannerAgentOptions o;
        o.cooldown = 60s;
        o.proposal_ttl = 24h;
        o.rules.escalate = rules;
        return o;
    }
    void answer(std::string action) {
        std::lock_guard lock(action_mutex);
        next_action = std::move(action);
    }
    /// Plans one event for piha/a; returns the new action file, or null when none was written.
    nlohmann::json propose() {
        const auto before = as_json(store.list()).size();
        if (handle_event(agent, make_health_event("piha", "a")) != HandleResult::proposed) {
            return nullptr;
        }
        const auto files = as_json(store.list());
        REQUIRE(files.size() == before + 1);
        return files.back();
    }
    static std::string id(const nlohmann::json& file) {
        return file["action_id"].get<std::string>();
    }

    std::mutex action_mutex;
    std::string next_action = "restart";
    EscalationRecordingSink sink;
    FileActionStore store;
    std::vector<ActionFile> history;
    FakeRouter router;
    RecordingEventSink events;
    RecordingLogSink log;
    PlannerAgent agent;
};

}  // namespace

TEST_CASE("the after-th proposal within the window escalates, with its history",
          "[escalation][agent]") {
    TempDir tmp;
    ManualClock clock;
    Planner p(tmp.path(), clock);

    const auto first = p.propose();
    REQUIRE(first.is_object());
    CHECK_FALSE(first.contains("escalated"));
    p.store.reject(Planner::id(first), "alice", "not now");
    clock.advance(61s);
    const auto second = p.propose();
    REQUIRE(second.is_object());
    CHECK(second["requires_human"] == false);
    p.store.start(Planner::id(second), "executor");
    p.store.finish(Planner::id(second), true, "executor", "restarted");
    clock.advance(61s);

    const auto third = p.propose();
    REQUIRE(third.is_object());
    CHECK(third["escalated"] == true);
    CHECK(third["requires_human"] == true);
    CHECK(third["payload"]["action"] == "restart");
    CHECK(mentions(third, "requires_human forced: escalated: 3 proposals for piha/a within 6h"));
    REQUIRE(third["history"].size() == 2);
    CHECK(third["history"][0]["action_id"] == Planner::id(first));
    CHECK(third["history"][0]["status"] == "rejected");
    CHECK(third["history"][0]["resolved_at"].is_string());
    CHECK(third["history"][1]["status"] == "succeeded");
    CHECK(third["history"][1]["action"] == "restart");

    CHECK(p.agent.counters().escalated == 1);
    CHECK(p.agent.counters().to_json()["escalated"]["proposal"] == 1);
    const auto lines = p.log.lines("proposal_escalated");
    REQUIRE(lines.size() == 1);
    CHECK(lines[0].level == LogLevel::warn);
    CHECK(lines[0].fields["key"] == "piha/a");
    CHECK(lines[0].fields["action_id"] == Planner::id(third));
    CHECK(lines[0].fields["reasons"] == nlohmann::json::array({"flapping"}));
    CHECK(lines[0].fields["history"] == 2);

    // Past the window the count starts again.
    p.store.reject(Planner::id(third), "alice", "looked");
    clock.advance(7h);
    const auto later = p.propose();
    REQUIRE(later.is_object());
    CHECK_FALSE(later.contains("escalated"));
    CHECK(later["requires_human"] == false);
}

TEST_CASE("after a failed restart a redeploy is lowered to restart and escalates",
          "[escalation][agent]") {
    TempDir tmp;
    ManualClock clock;
    Planner p(tmp.path(), clock, {10, 6h});
    const auto first = p.propose();
    p.store.start(Planner::id(first), "executor");
    p.store.finish(Planner::id(first), false, "executor", "container exits at once");
    clock.advance(61s);

    p.answer("redeploy");
    const auto second = p.propose();
    REQUIRE(second.is_object());
    CHECK(second["escalated"] == true);
    CHECK(second["requires_human"] == true);
    CHECK(second["payload"]["action"] == "restart");
    CHECK(second["type"] == "container_restart");
    CHECK(mentions(second,
                   "action 'redeploy' lowered to restart: restart already failed for "
                   "piha/a (" +
                       Planner::id(first) + ")"));
    CHECK(mentions(second,
                   "requires_human forced: escalated: the previous proposal for piha/a "
                   "(restart) failed"));
    CHECK(second["history"][0]["status"] == "failed");
    const auto lines = p.log.lines("proposal_escalated");
    REQUIRE(lines.size() == 1);
    CHECK(lines[0].fields["capped_to"] == "restart");
    CHECK(lines[0].fields["reasons"] == nlohmann::json::array({"failed", "capped"}));

    // ignore is never escalated and never written.
    p.store.reject(Planner::id(second), "alice", "no");
    p.answer("ignore");
    clock.advance(61s);
    CHECK(handle_event(p.agent, make_health_event("piha", "a")) == HandleResult::ignored);
    CHECK(p.agent.counters().escalated == 1);
}

TEST_CASE("a pending proposal seen after times is marked escalated and notified again once",
          "[escalation][agent][pending]") {
    TempDir tmp;
    ManualClock clock;
    Planner p(tmp.path(), clock);
    const auto first = p.propose();
    REQUIRE(first.is_object());
    const std::string id = Planner::id(first);

    clock.advance(61s);
    CHECK(p.agent.dispatch_text("health", event_json("piha", "a")) == IntakeResult::pending);
    REQUIRE(p.agent.wait_idle(5s));  // the occurrence is recorded on the follow-up thread
    CHECK_FALSE(as_json(p.store.read(id))->contains("escalated"));  // 2 occurrences
    CHECK(p.sink.escalated_ones().empty());

    clock.advance(61s);
    CHECK(p.agent.dispatch_text("health", event_json("piha", "a")) == IntakeResult::pending);
    REQUIRE(p.agent.wait_idle(5s));
    const auto file = *as_json(p.store.read(id));
    CHECK(file["occurrences"] == 3);
    CHECK(file["escalated"] == true);
    CHECK(file["requires_human"] == true);
    CHECK(file["escalated_at"] == format_utc_timestamp(clock.wall_now()));
    CHECK(file["history"] == nlohmann::json::array());
    CHECK(file["status"] == "pending");
    CHECK(mentions(file, "requires_human forced: escalated: seen 3 times while pending"));
    const auto told = p.sink.escalated_ones();
    REQUIRE(told.size() == 1);
    CHECK(told[0].action_id == id);
    CHECK(told[0].escalated);
    CHECK(told[0].requires_human);
    CHECK(p.agent.counters().escalated_pending == 1);
    const auto lines = p.log.lines("proposal_escalated");
    REQUIRE(lines.size() == 1);
    CHECK(lines[0].fields["reasons"] == nlohmann::json::array({"occurrences"}));

    // The executor can no longer start it without a person.
    CHECK_THROWS_AS(p.store.start(id, "executor"), ActionStoreError);

    // Once only.
    clock.advance(61s);
    CHECK(p.agent.dispatch_text("health", event_json("piha", "a")) == IntakeResult::pending);
    REQUIRE(p.agent.wait_idle(5s));
    CHECK(as_json(p.store.read(id))->at("occurrences") == 4);
    CHECK(p.sink.escalated_ones().size() == 1);
    CHECK(p.agent.counters().escalated_pending == 1);
}

TEST_CASE("escalation history survives a restart: a second agent over the same directories",
          "[escalation][agent][restart]") {
    TempDir tmp;
    ManualClock clock;
    std::string failed_id;
    {
        Planner p(tmp.path(), clock);
        const auto first = p.propose();
        p.store.reject(Planner::id(first), "alice", "no");
        clock.advance(61s);
        const auto second = p.propose();
        failed_id = Planner::id(second);
        p.store.start(failed_id, "executor");
        p.store.finish(failed_id, false, "executor", "still unhealthy");
    }
    clock.advance(10min);
    SECTION("without seeding a new agent knows nothing") {
        Planner restarted(tmp.path(), clock);
        CHECK(restarted.agent.seeded().escalation == 0);
        restarted.answer("redeploy");
        const auto next = restarted.propose();
        CHECK_FALSE(next.contains("escalated"));
        CHECK(next["payload"]["action"] == "redeploy");
    }
    SECTION("seeded from the action files, as planner-run does at start") {
        Planner restarted(tmp.path(), clock, {3, 6h}, /*seeded=*/true);
        CHECK(restarted.agent.seeded().escalation == 2);
        restarted.answer("redeploy");
        const auto next = restarted.propose();
        CHECK(next["escalated"] == true);
        CHECK(next["payload"]["action"] == "restart");
        REQUIRE(next["history"].size() == 2);
        CHECK(next["history"][1]["action_id"] == failed_id);
        CHECK(next["history"][1]["status"] == "failed");
        const auto lines = restarted.log.lines("proposal_escalated");
        REQUIRE(lines.size() == 1);
        CHECK(lines[0].fields["reasons"] ==
              nlohmann::json::array({"flapping", "failed", "capped"}));
    }
}

TEST_CASE("a planner restarted within the same second never reuses an action id",
          "[escalation][agent][restart]") {
    TempDir tmp;
    ManualClock clock;
    std::string first_id;
    {
        Planner p(tmp.path(), clock);
        first_id = Planner::id(p.propose());
        p.store.reject(first_id, "alice", "no");
    }
    Planner restarted(tmp.path(), clock);  // the same wall second: its sequence starts at 1 again
    const auto second = restarted.propose();  // REQUIREs a second file beside the first
    REQUIRE(second.is_object());
    CHECK(Planner::id(second) != first_id);
    const auto first = as_json(restarted.store.read(first_id));
    REQUIRE(first);
    CHECK((*first)["status"] == "rejected");
}

TEST_CASE("a reload turns escalation on, and the history kept meanwhile counts",
          "[escalation][agent][reload]") {
    TempDir tmp;
    ManualClock clock;
    Planner p(tmp.path(), clock, {});
    for (int i = 0; i < 2; ++i) {
        const auto f = p.propose();
        REQUIRE(f.is_object());
        CHECK_FALSE(f.contains("escalated"));
        p.store.reject(Planner::id(f), "alice", "no");
        clock.advance(61s);
    }
    HouseRules rules;
    rules.escalate = {3, 6h};
    p.agent.reconfigure(rules, {});
    const auto third = p.propose();
    CHECK(third["escalated"] == true);
}
