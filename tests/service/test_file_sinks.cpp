// write_pending_action and emit_event, ported from the seed suite onto the file sinks, plus the
// atomic writer and containment against hostile names.

#include <fcntl.h>
#include <unistd.h>

#include <fstream>

#include <catch2/catch.hpp>

#include <planner/agent_testing.hpp>
#include <planner/file_sinks.hpp>

#include "atomic_file.hpp"

#include "support/agent_fixture.hpp"
#include "support/temp_dir.hpp"

using namespace planner;
using namespace planner::testing;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

std::vector<fs::path> json_files(const fs::path& root) {
    std::vector<fs::path> out;
    for (const auto& e : fs::recursive_directory_iterator(root)) {
        if (e.is_regular_file() && e.path().extension() == ".json") out.push_back(e.path());
    }
    return out;
}

ActionProposal sample_proposal(std::string id = "plan-piha-mosquitto-1000") {
    return a_proposal()
        .id(std::move(id))
        .reason("Container stopped unexpectedly")
        .confidence(0.95)
        .requires_human(false);
}

const auto kWallStart = std::chrono::system_clock::time_point{std::chrono::seconds{1'780'000'000}};

}  // namespace

TEST_CASE("file created with correct content", "[file_sinks]") {
    TempDir tmp;
    FileActionSink sink(tmp.path());
    const auto where = sink.write(sample_proposal());
    const fs::path path = tmp / "plan-piha-mosquitto-1000.json";
    CHECK(where == path.string());
    REQUIRE(fs::exists(path));
    const auto data = read_json(path);
    CHECK(data["action_id"] == "plan-piha-mosquitto-1000");
    CHECK(data["status"] == "pending");
    CHECK(data["type"] == "container_restart");
    CHECK(data["confidence"] == 0.95);
    CHECK(data["requires_human"] == false);
}

TEST_CASE("file is valid json", "[file_sinks]") {
    TempDir tmp;
    FileActionSink sink(tmp.path());
    auto p = sample_proposal("x");
    p.type = "redeploy";
    p.action = "redeploy";
    p.service = "ollama";
    p.node = "solaria";
    p.reason = "Service is broken beyond a simple restart \xff\xfe";  // invalid UTF-8 too
    p.requires_human = true;
    p.risk_level = "guarded";
    sink.write(p);
    const auto data = read_json(tmp / "x.json");
    CHECK(data == nlohmann::json::parse(detail::dump_lenient(p.to_action_file())));
}

TEST_CASE("event file created", "[file_sinks]") {
    TempDir tmp;
    FileEventSink sink(tmp.path(), [] { return std::string("test-node"); });
    PlannerEvent ev{
        "remediation_started", "info", "mosquitto", "plan-abc-123", {{"action", "restart"}}};
    sink.emit(ev);
    const auto files = json_files(tmp.path());
    REQUIRE(files.size() == 1);
    const auto data = read_json(files[0]);
    CHECK(data["type"] == "remediation_started");
    CHECK(data["service"] == "mosquitto");
    CHECK(data["correlation_id"] == "plan-abc-123");
    CHECK(data["payload"]["action"] == "restart");
    CHECK(data["node"] == "test-node");
    CHECK(data["severity"] == "info");
    CHECK(data.contains("timestamp"));
}

TEST_CASE("event dir structure", "[file_sinks]") {
    TempDir tmp;
    ManualClock clock(kWallStart);  // 2026-05-28T20:26:40Z
    FileEventSink sink(
        tmp.path(), [] { return std::string("piha"); }, clock.wall_source());
    sink.emit({"test_event", "info", "svc", "cid-1", nlohmann::json::object()});
    const auto files = json_files(tmp.path());
    REQUIRE(files.size() == 1);
    const auto rel = fs::relative(files[0], tmp.path());
    const std::vector<fs::path> parts(rel.begin(), rel.end());
    REQUIRE(parts.size() == 3);  // date / node / file.json
    CHECK(parts[0] == "2026-05-28");
    CHECK(parts[1] == "piha");
    CHECK(parts[2] == "202640.000-test_event-cid-1.json");
    CHECK(read_json(files[0])["timestamp"] == "2026-05-28T20:26:40.000Z");
}

TEST_CASE("node name is read at call time", "[file_sinks]") {
    TempDir tmp;
    std::string node = "first";
    FileEventSink sink(tmp.path(), [&] { return node; });
    sink.emit({"a", "info", "svc", "1", nlohmann::json::object()});
    node = "second";
    sink.emit({"b", "info", "svc", "2", nlohmann::json::object()});
    const auto day = fs::directory_iterator(tmp.path())->path();
    CHECK(fs::exists(day / "first"));
    CHECK(fs::exists(day / "second"));
}

TEST_CASE("atomic write leaves no temporary and replaces whole files", "[file_sinks]") {
    TempDir tmp;
    const int dir = ::open(tmp.path().c_str(), O_RDONLY | O_DIRECTORY);
    REQUIRE(dir >= 0);
    detail::write_file_atomically(dir, "a.json", "first");
    detail::write_file_atomically(dir, "a.json", "second", /*fsync=*/false);
    ::close(dir);
    CHECK(list_tree(tmp.path()) == std::vector<std::string>{"a.json"});
    CHECK(read_text(tmp / "a.json") == "second");
}

TEST_CASE("a taken action id is refused with ActionIdTaken, the first file intact",
          "[file_sinks]") {
    TempDir tmp;
    FileActionSink sink(tmp.path(), {false});
    auto first = sample_proposal();
    first.reason = "the first proposal, which a person may have decided";
    sink.write(first);
    auto second = sample_proposal();  // the same id: a planner restarted within the second
    second.reason = "a later proposal";
    try {
        sink.write(second);
        FAIL("wrote over an existing action file");
    } catch (const ActionIdTaken& e) {
        CHECK(e.action_id() == "plan-piha-mosquitto-1000");
        CHECK(e.code() == std::errc::file_exists);
        CHECK_THAT(e.what(), Catch::Contains("plan-piha-mosquitto-1000"));
    }
    // No temporary left behind, and the file still holds the first proposal.
    CHECK(list_tree(tmp.path()) == std::vector<std::string>{"plan-piha-mosquitto-1000.json"});
    CHECK(read_json(tmp / "plan-piha-mosquitto-1000.json")["payload"]["reason"] == first.reason);
}

TEST_CASE("two planners in one second on one actions directory keep both proposals, no store",
          "[file_sinks][agent]") {
    TempDir tmp;
    ManualClock clock;  // never advanced: both planners plan in the same wall second
    int run = 0;
    FakeRouter router([&run](const std::vector<ChatMessage>&) {
        return make_route_result("restart", "mosquitto", "piha", "run " + std::to_string(run));
    });
    RecordingEventSink events;
    RecordingLogSink log;
    for (run = 0; run < 2; ++run) {
        // A fresh agent, as after a restart: its sequence counts from 1 again. No store.
        FileActionSink actions(tmp / "actions", {false});
        PlannerAgent agent(PlannerAgentOptions{}, {.router = router,
                                                   .actions = actions,
                                                   .events = events,
                                                   .log = log,
                                                   .steady = clock.steady_source(),
                                                   .wall = clock.wall_source()});
        REQUIRE(handle_event(agent, make_health_event("piha", "mosquitto")) ==
                HandleResult::proposed);
    }
    const auto files = json_files(tmp / "actions");
    REQUIRE(files.size() == 2);
    const auto started = events.emitted();
    REQUIRE(started.size() == 2);
    CHECK(started[0].correlation_id != started[1].correlation_id);
    for (int i = 0; i < 2; ++i) {
        // The proposal, its file's name and remediation_started agree on one id.
        const std::string id = started[static_cast<std::size_t>(i)].correlation_id;
        const auto file = read_json(tmp / "actions" / (id + ".json"));
        CHECK(file["action_id"] == id);
        CHECK(file["payload"]["reason"] == "run " + std::to_string(i));
        CHECK(started[static_cast<std::size_t>(i)].payload["action_file"] == id + ".json");
    }
    std::vector<std::string> written;
    for (const auto& line : log.lines()) {
        if (line.event == "proposal_written") written.push_back(line.fields["action_id"]);
    }
    CHECK(written ==
          std::vector<std::string>{started[0].correlation_id, started[1].correlation_id});
    // The second planner says which id it found taken and which it took instead.
    const auto taken = log.lines("action_id_taken");
    REQUIRE(taken.size() == 1);
    CHECK(taken[0].fields["action_id"] == started[0].correlation_id);
    CHECK(taken[0].fields["next"] == started[1].correlation_id);
}

TEST_CASE("public atomic write by path replaces whole files and names the file on error",
          "[file_sinks]") {
    TempDir tmp;
    planner::write_file_atomically(tmp / "beat", "one\n");
    planner::write_file_atomically(tmp / "beat", "two\n", /*fsync=*/false);
    CHECK(list_tree(tmp.path()) == std::vector<std::string>{"beat"});
    CHECK(read_text(tmp / "beat") == "two\n");
    try {
        planner::write_file_atomically(tmp / "missing" / "beat", "x");
        FAIL("wrote into a directory that does not exist");
    } catch (const std::system_error& e) {
        CHECK_THAT(e.what(), Catch::Contains((tmp / "missing" / "beat").string()));
    }
}

TEST_CASE("creating a file that exists keeps it and leaves no temporary", "[file_sinks]") {
    // The rename itself refuses (RENAME_NOREPLACE), not only FileActionSink's look beforehand,
    // which a second writer can pass at the same instant.
    TempDir tmp;
    const int dir = ::open(tmp.path().c_str(), O_RDONLY | O_DIRECTORY);
    REQUIRE(dir >= 0);
    CHECK(detail::create_file_atomically(dir, "plan.json", "first", false));
    CHECK_FALSE(detail::create_file_atomically(dir, "plan.json", "second", false));
    ::close(dir);
    CHECK(read_text(tmp / "plan.json") == "first");
    CHECK(list_tree(tmp.path()) == std::vector<std::string>{"plan.json"});
}

TEST_CASE("the atomic writer refuses names that leave the directory", "[file_sinks]") {
    TempDir tmp;
    const int dir = ::open(tmp.path().c_str(), O_RDONLY | O_DIRECTORY);
    REQUIRE(dir >= 0);
    const std::vector<std::string> names = {"",
                                            ".",
                                            "..",
                                            "../x",
                                            "/etc/x",
                                            "a/b",
                                            std::string("a\0b", 3),
                                            std::string(256, 'a'),
                                            ".tmp-123"};
    for (const auto& name : names) {
        CHECK_THROWS_AS(detail::write_file_atomically(dir, name, "x"), std::invalid_argument);
    }
    ::close(dir);
    CHECK(list_tree(tmp.path()).empty());
}

TEST_CASE("stale temporaries are cleaned at start", "[file_sinks]") {
    TempDir tmp;
    fs::create_directories(tmp / "actions");
    fs::create_directories(tmp / "events/2026-05-28/piha");
    std::ofstream(tmp / "actions/.tmp-999-1") << "{\"partial";
    std::ofstream(tmp / "actions/keep.json") << "{}";
    std::ofstream(tmp / "events/2026-05-28/piha/.tmp-999-2") << "{";
    FileActionSink actions(tmp / "actions");
    FileEventSink events(tmp / "events", [] { return std::string("piha"); });
    CHECK(list_tree(tmp.path()) == std::vector<std::string>{"actions", "actions/keep.json",
                                                            "events", "events/2026-05-28",
                                                            "events/2026-05-28/piha"});
}

TEST_CASE("an output path that is a file is refused at construction", "[file_sinks]") {
    TempDir tmp;
    std::ofstream(tmp / "file") << "x";
    CHECK_THROWS_AS(FileActionSink(tmp / "file"), std::system_error);
    CHECK_THROWS_AS(FileEventSink(tmp / "file/sub", [] { return std::string("n"); }),
                    std::system_error);
}

TEST_CASE("an action id that is not a safe file name is refused", "[file_sinks]") {
    TempDir tmp;
    FileActionSink sink(tmp / "actions");
    const std::vector<std::string> ids = {"", "../evil", "/etc/passwd", "a b", ".hidden"};
    for (const auto& id : ids) {
        CHECK_THROWS_AS(sink.write(sample_proposal(id)), std::invalid_argument);
    }
    CHECK(list_tree(tmp / "actions").empty());
}

TEST_CASE("a symlink planted in the events tree is not followed", "[file_sinks]") {
    TempDir tmp;
    TempDir outside;
    ManualClock clock(kWallStart);
    fs::create_directories(tmp / "events/2026-05-28");
    fs::create_symlink(outside.path(), tmp / "events/2026-05-28/piha");
    FileEventSink sink(
        tmp / "events", [] { return std::string("piha"); }, clock.wall_source());
    CHECK_THROWS_AS(sink.emit({"t", "info", "s", "c", nlohmann::json::object()}),
                    std::system_error);
    CHECK(list_tree(outside.path()).empty());
}

TEST_CASE("fsync can be switched off for benchmarks", "[file_sinks]") {
    TempDir tmp;
    FileActionSink sink(tmp.path(), FileSinkOptions{.fsync = false});
    sink.write(sample_proposal());
    CHECK(fs::exists(tmp / "plan-piha-mosquitto-1000.json"));
}

TEST_CASE("hostile names from events never leave the output directories", "[file_sinks]") {
    TempDir tmp;
    const fs::path base = tmp / "a/b";
    const std::vector<std::string> hostile = {"../../../../../../tmp/pwned",
                                              "/tmp/pwned-abs",
                                              std::string("nul\0byte", 8),
                                              "new\nline",
                                              std::string(10'000, 'x'),
                                              ".",
                                              "..",
                                              "...",
                                              "",
                                              "./..//../x",
                                              "\xff\xfe",
                                              "-rf"};
    std::string planner_node;
    FileActionSink actions(base / "actions");
    FileEventSink events(base / "events", [&] { return planner_node; });
    RecordingLogSink log;
    FakeRouter router([](const std::vector<ChatMessage>&) { return make_route_result("restart"); });
    PlannerAgentOptions options;
    options.cooldown = 0s;
    PlannerAgent agent(options,
                       {.router = router, .actions = actions, .events = events, .log = log});

    std::size_t proposals = 0;
    for (const auto& name : hostile) {
        planner_node = name;  // the planner's own node name is hostile too
        for (const auto& [node, service] :
             {std::pair{name, std::string("svc")}, std::pair{std::string("piha"), name},
              std::pair{name, name}}) {
            auto ev = make_health_event(node, service);
            if (ev.service.empty()) ev.service = "svc";
            CHECK(handle_event(agent, ev) == HandleResult::proposed);
            ++proposals;
        }
        events.emit({name, name, name, name, nlohmann::json::object()});
    }
    CHECK(agent.counters().write_failures == 0);
    CHECK(agent.counters().emit_failures == 0);
    CHECK_FALSE(fs::exists("/tmp/pwned"));
    CHECK_FALSE(fs::exists("/tmp/pwned-abs"));
    for (const auto& entry : list_tree(tmp.path())) {
        const bool inside = entry == "a" || entry == "a/b" || entry.starts_with("a/b/actions") ||
                            entry.starts_with("a/b/events");
        INFO(entry);
        CHECK(inside);
    }
    CHECK(json_files(base / "actions").size() == proposals);
    CHECK(json_files(base / "events").size() == proposals + hostile.size());
    for (const auto& file : json_files(base)) {
        CHECK(file.filename().string().size() <= 255);
        CHECK_NOTHROW(read_json(file));
    }
}
