// PlannerService: the assembly planner-run, --eval and the benchmarks share. Built from options
// over temp dirs, with fakes (FakeRouter, RecordingLogSink, ManualClock): it plans to files,
// seeds from the files already there, writes nothing in a dry run, reloads without dropping the
// queue, and stops after draining it.

#include <catch2/catch.hpp>

#include <cstdio>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <planner/action_store.hpp>
#include <planner/file_sinks.hpp>
#include <planner/planner_service.hpp>
#include <planner/testing.hpp>

#include "support/agent_fixture.hpp"
#include "support/gate.hpp"
#include "support/temp_dir.hpp"

using namespace planner;
using namespace planner::testing;
namespace fs = std::filesystem;

namespace {

const auto kNow = std::chrono::system_clock::time_point{std::chrono::seconds{1'780'000'100}};

/// The service's options over `dir`, on `clock`, asking `chain`.
PlannerServiceOptions options_in(const TempDir& dir, ManualClock& clock,
                                 std::shared_ptr<LLMRouter> chain) {
    PlannerServiceOptions o;
    o.actions_dir = dir / "actions";
    o.events_dir = dir / "events";
    o.state_dir = dir / "state";
    o.node = "planner-a";
    o.chain = std::move(chain);
    o.wall = clock.wall_source();
    o.steady = clock.steady_source();
    o.fsync = false;
    o.agent.stop_grace = std::chrono::seconds{10};
    o.agent.rules.human_only_node_patterns = {};  // automatic proposals emit remediation_started
    return o;
}

std::vector<fs::path> files_in(const fs::path& dir) {
    std::vector<fs::path> out;
    if (!fs::exists(dir)) return out;
    for (const auto& e : fs::recursive_directory_iterator(dir)) {  // events: per day
        if (e.is_regular_file()) out.push_back(e.path());
    }
    return out;
}

using Answer = std::function<RouteResult(const std::vector<ChatMessage>&)>;

/// A FakeRouter the service can share.
std::shared_ptr<FakeRouter> fake(Answer answer) {
    return std::make_shared<FakeRouter>(FakeRouter::Responder(std::move(answer)));
}

/// Always `result`.
std::shared_ptr<FakeRouter> fake(RouteResult result) {
    return fake([result](const std::vector<ChatMessage>&) { return result; });
}

/// Answers restart for whatever service the prompt is about.
Answer restart_what_is_asked() {
    return [](const std::vector<ChatMessage>& messages) {
        const auto& text = messages[1].content;
        const auto block = nlohmann::json::parse(
            text.substr(text.find('{'), text.rfind('}') - text.find('{') + 1));
        return make_route_result("restart", block["service"], block["node"], "restart it", 0.95,
                                 false);
    };
}

}  // namespace

TEST_CASE("the service assembles from options and plans an event to an action file",
          "[planner_service]") {
    TempDir dir;
    ManualClock clock(kNow);
    auto router = fake(make_route_result());
    RecordingLogSink log;
    PlannerService service(options_in(dir, clock, router), log);
    REQUIRE(service.store() != nullptr);
    CHECK(service.notifier() == nullptr);  // no targets
    CHECK(service.budget_seeded() == 0);
    CHECK(service.escalation_seeded() == 0);

    service.start();
    REQUIRE(service.agent().dispatch_text("health_events", event_json()) == IntakeResult::queued);
    REQUIRE(service.agent().wait_idle(std::chrono::seconds{10}));
    const auto report = service.stop();
    CHECK(report.drained);

    CHECK(router->call_count() == 1);
    const auto actions = files_in(dir / "actions");
    REQUIRE(actions.size() == 1);
    const auto file = nlohmann::json::parse(read_text(actions[0]));
    CHECK(file["node"] == "piha");
    CHECK(file["service"] == "mosquitto");
    CHECK(file["payload"]["action"] == "restart");
    // The store reads what the sink wrote, and the event sink wrote under the node's name.
    CHECK(service.store()->list().size() == 1);
    const auto events = files_in(dir / "events");
    REQUIRE(events.size() == 1);
    CHECK(nlohmann::json::parse(read_text(events[0]))["node"] == "planner-a");
}

TEST_CASE("the service seeds the budget and escalation history from the actions directory",
          "[planner_service]") {
    TempDir dir;
    ManualClock clock(kNow);
    fs::create_directories(dir / "actions");
    // Two automatic proposals on piha from a minute ago: a restart must not forget them.
    for (const std::string service : {"mosquitto", "zigbee"}) {
        const ActionProposal p = a_proposal()
                                     .id("plan-piha-" + service + "-1780000040-1")
                                     .service(service)
                                     .requires_human(false)
                                     .created_at(kNow - std::chrono::minutes{1});
        write_text(dir / "actions" / (p.action_id + ".json"), action_file_text(p));
    }
    auto o = options_in(dir, clock, fake(make_route_result()));
    o.agent.rules.budget = {5, 0, std::chrono::hours{1}};
    o.agent.rules.escalate = {3, std::chrono::hours{6}};
    RecordingLogSink log;
    PlannerService service(std::move(o), log);

    CHECK(service.budget_seeded() == 2);
    CHECK(service.escalation_seeded() == 2);
    CHECK(service.agent().budget().used(std::chrono::hours{1}) == 2);
    CHECK(service.store()->list().size() == 2);
}

TEST_CASE("a dry run prints proposals and writes nothing to disk", "[planner_service]") {
    TempDir dir;
    ManualClock clock(kNow);
    std::FILE* out = std::tmpfile();
    REQUIRE(out != nullptr);
    auto o = options_in(dir, clock, fake(make_route_result()));
    o.dry_run = out;
    NotifyTarget target;
    target.url = "http://127.0.0.1:9/hook";
    o.notify = {target};  // a dry run notifies nobody
    RecordingLogSink log;
    {
        PlannerService service(std::move(o), log);
        CHECK(service.store() == nullptr);
        CHECK(service.notifier() == nullptr);
        CHECK(service.sweep_once() == 0);
        service.start();
        REQUIRE(service.agent().dispatch_text("health_events", event_json()) ==
                IntakeResult::queued);
        REQUIRE(service.agent().wait_idle(std::chrono::seconds{10}));
        service.stop();
        CHECK(service.agent().counters().proposals.at("restart") == 1);
    }
    CHECK(list_tree(dir.path()).empty());
    std::fflush(out);
    std::rewind(out);
    std::string printed;
    char buf[4096];
    std::size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, out)) > 0) printed.append(buf, n);
    std::fclose(out);
    CHECK(printed.find("\"mosquitto\"") != std::string::npos);
}

TEST_CASE("reload swaps rules, cooldown, node and chain without dropping the queue",
          "[planner_service]") {
    TempDir dir;
    ManualClock clock(kNow);
    Gate gate;
    auto before = fake([&gate](const std::vector<ChatMessage>& messages) {
        gate.enter();
        return restart_what_is_asked()(messages);
    });
    auto after = fake(restart_what_is_asked());
    RecordingLogSink log;
    auto o = options_in(dir, clock, before);
    o.agent.rules.human_only_node_patterns = {};
    PlannerService service(std::move(o), log);
    service.start();

    // One event in flight on the old chain, one queued behind it (one worker).
    REQUIRE(service.agent().dispatch_text("health_events", event_json("k3s-a", "slow")) ==
            IntakeResult::queued);
    REQUIRE(gate.wait_entered(1));
    REQUIRE(service.agent().dispatch_text("health_events", event_json("k3s-b", "next")) ==
            IntakeResult::queued);

    PlannerServiceReload next;
    next.rules.allowed_actions["k3s-b/next"] = {"ignore", "notify"};
    next.rules.human_only_node_patterns = {};
    next.cooldown = std::chrono::seconds{42};
    next.node = "planner-b";
    next.chain = after;
    service.reload(next);
    CHECK(service.agent().cooldown().cooldown() == std::chrono::seconds{42});
    CHECK(service.agent().system_prompt() ==
          build_system_prompt(next.rules, PromptOptions{next.topology}));

    gate.open();
    REQUIRE(service.agent().wait_idle(std::chrono::seconds{10}));
    service.stop();

    CHECK(before->call_count() == 1);
    CHECK(after->call_count() == 1);  // the queued event was kept and planned on the new chain
    std::map<std::string, nlohmann::json> by_service;
    for (const auto& f : files_in(dir / "actions")) {
        auto j = nlohmann::json::parse(read_text(f));
        by_service[j["service"]] = j;
    }
    REQUIRE(by_service.size() == 2);
    CHECK(by_service["slow"]["payload"]["action"] == "restart");  // planned under the old rules
    CHECK(by_service["next"]["payload"]["action"] == "notify");   // the new rules corrected it
    std::set<std::string> nodes;
    for (const auto& f : files_in(dir / "events")) {
        nodes.insert(nlohmann::json::parse(read_text(f))["node"]);
    }
    CHECK(nodes.count("planner-b") == 1);

    // A null chain is refused and changes nothing.
    PlannerServiceReload broken;
    CHECK_THROWS(service.reload(broken));
    CHECK(service.agent().cooldown().cooldown() == std::chrono::seconds{42});
}

TEST_CASE("stop drains the queue before the notifier and whatever runs after the agent",
          "[planner_service]") {
    TempDir dir;
    ManualClock clock(kNow);
    RecordingLogSink log;
    PlannerService service(options_in(dir, clock, fake(restart_what_is_asked())), log);
    service.start();
    for (const std::string s : {"a", "b", "c"}) {
        REQUIRE(service.agent().dispatch_text("health_events", event_json("piha", s)) ==
                IntakeResult::queued);
    }
    std::size_t written_when_agent_stopped = 0;
    const auto report =
        service.stop([&] { written_when_agent_stopped = files_in(dir / "actions").size(); });
    CHECK(report.drained);
    CHECK(report.abandoned_queued == 0);
    CHECK(written_when_agent_stopped == 3);
    CHECK(service.agent().dispatch_text("health_events", event_json("piha", "d")) ==
          IntakeResult::stopped);
    // Idempotent: a second stop (and the destructor) changes nothing.
    CHECK(service.stop().drained);
}
