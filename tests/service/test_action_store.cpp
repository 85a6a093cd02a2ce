// The approval workflow over the actions directory: transitions, races, expiry, audit, events,
// hostile ids.

#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include <catch2/catch.hpp>

#include <planner/testing.hpp>
#include "planner/file_action_store.hpp"
#include "planner/file_sinks.hpp"
#include "support/action_store_dirs.hpp"
#include "support/temp_dir.hpp"

using planner::testing::as_json;

using namespace planner;
using planner::testing::TempDir;
using namespace std::chrono_literals;

namespace {

ActionProposal proposal(std::string id, bool requires_human = true,
                        std::string service = "mosquitto") {
    // Proposed now, as the plan step stamps it: the store's expiry reads the real clock here.
    return testing::a_proposal()
        .id(std::move(id))
        .service(std::move(service))
        .requires_human(requires_human)
        .created_at(std::chrono::system_clock::now());
}

struct Fixture {
    TempDir tmp;
    ManualClock clock;
    testing::RecordingEventSink events;
    std::filesystem::path actions = tmp / "actions";
    std::filesystem::path state = tmp / "state";

    Fixture() { std::filesystem::create_directories(actions); }

    ActionStoreOptions options() const {
        ActionStoreOptions o;
        o.actions_dir = actions;
        o.state_dir = state;
        o.fsync = false;
        return o;
    }
    FileActionStore store() { return FileActionStore(options(), &events, clock.wall_source()); }
    /// A pending file written exactly as the planner writes it, expiring after `ttl`.
    void write(ActionProposal p, std::chrono::seconds ttl = 24h) {
        p.created_at = clock.wall_now();
        p.expires_at = p.created_at + ttl;
        FileActionSink(actions, {false}).write(p);
    }
};

std::string expect_error(const std::function<void()>& f, ActionStoreError::Kind kind) {
    try {
        f();
    } catch (const ActionStoreError& e) {
        CHECK(e.kind() == kind);
        return e.what();
    }
    FAIL("no ActionStoreError");
    return {};
}

}  // namespace

TEST_CASE("pending file keeps the seed format plus expires_at", "[action_store]") {
    Fixture f;
    f.write(proposal("a1"));
    const auto file = as_json(f.store().read("a1"));
    REQUIRE(file);
    std::vector<std::string> keys;
    for (const auto& [k, v] : file->items()) keys.push_back(k);
    std::sort(keys.begin(), keys.end());
    CHECK(keys == std::vector<std::string>{"action_id", "confidence", "description", "expires_at",
                                           "llm_attempts", "llm_model", "node", "payload",
                                           "requires_human", "risk_level", "service",
                                           "source_event", "status", "timestamp", "type"});
    CHECK((*file)["expires_at"] == "2026-05-29T20:26:40.000Z");
    CHECK((*file)["timestamp"] == "2026-05-28T20:26:40.000Z");
}

TEST_CASE("approve, start, finish record every state in the same file", "[action_store]") {
    Fixture f;
    f.write(proposal("a1"));
    auto store = f.store();
    const auto approved = store.approve("a1", "alice", "go ahead");
    CHECK(approved.from == ActionStatus::pending);
    CHECK(approved.to == ActionStatus::approved);
    auto file = *as_json(store.read("a1"));
    CHECK(file["status"] == "approved");
    CHECK(file["decided_by"] == "alice");
    CHECK(file["decided_at"] == "2026-05-28T20:26:40.000Z");
    CHECK(file["decision_note"] == "go ahead");
    CHECK(file["payload"]["action"] == "restart");  // the seed keys stay

    f.clock.advance(5s);
    store.start("a1", "executor");
    CHECK((*as_json(store.read("a1")))["status"] == "executing");
    CHECK((*as_json(store.read("a1")))["started_at"] == "2026-05-28T20:26:45.000Z");
    f.clock.advance(5s);
    store.finish("a1", true, "executor", "restarted in 2 s");
    file = *as_json(store.read("a1"));
    CHECK(file["status"] == "succeeded");
    CHECK(file["result"] == "restarted in 2 s");
    CHECK(file["finished_at"] == "2026-05-28T20:26:50.000Z");
    CHECK(file["finished_by"] == "executor");

    // Audit: every transition exactly once, newest first.
    const auto history = store.history("a1");
    REQUIRE(history.size() == 3);
    CHECK(history[0]["from"] == "executing");
    CHECK(history[0]["to"] == "succeeded");
    CHECK(history[1]["to"] == "executing");
    CHECK(history[2]["to"] == "approved");
    CHECK(history[2]["by"] == "alice");
    CHECK(history[2]["note"] == "go ahead");

    // Events: approved and succeeded (executing has remediation_started's role already).
    const auto events = f.events.emitted();
    REQUIRE(events.size() == 2);
    CHECK(events[0].type == "remediation_approved");
    CHECK(events[0].correlation_id == "a1");
    CHECK(events[0].payload["by"] == "alice");
    CHECK(events[1].type == "remediation_succeeded");
}

TEST_CASE("reject and failed outcomes", "[action_store]") {
    Fixture f;
    f.write(proposal("r1"));
    f.write(proposal("x1", true, "grafana"));
    auto store = f.store();
    store.reject("r1", "bob", "not during backups");
    CHECK((*as_json(store.read("r1")))["status"] == "rejected");
    CHECK((*as_json(store.read("r1")))["decision_note"] == "not during backups");
    CHECK(
        expect_error([&] { store.approve("r1", "alice", ""); }, ActionStoreError::Kind::conflict) ==
        "r1 already rejected by bob at 2026-05-28T20:26:40.000Z");
    store.approve("x1", "alice", "");
    store.start("x1", "exec");
    store.finish("x1", false, "exec", "docker: no such container");
    CHECK((*as_json(store.read("x1")))["status"] == "failed");
    const auto events = f.events.emitted();
    REQUIRE(events.size() == 3);
    CHECK(events[0].type == "remediation_rejected");
    CHECK(events[2].type == "remediation_failed");
    CHECK(events[2].severity == "warning");
}

TEST_CASE("transitions out of order are refused with one line why", "[action_store]") {
    Fixture f;
    f.write(proposal("h1", true));
    f.write(proposal("auto1", false, "grafana"));
    auto store = f.store();
    CHECK(expect_error([&] { store.start("h1", "exec"); }, ActionStoreError::Kind::conflict) ==
          "h1 requires a human's approval first");
    CHECK(expect_error([&] { store.finish("h1", true, "exec", ""); },
                       ActionStoreError::Kind::conflict) == "h1 is still pending");
    store.approve("h1", "alice", "");
    CHECK(expect_error([&] { store.finish("h1", true, "exec", ""); },
                       ActionStoreError::Kind::conflict) == "h1 was approved but never started");
    CHECK(expect_error([&] { store.approve("nope", "alice", ""); },
                       ActionStoreError::Kind::not_found) == "no action nope");
    // requires_human: false may go straight from pending to executing.
    store.start("auto1", "exec");
    CHECK((*as_json(store.read("auto1")))["status"] == "executing");
    CHECK(expect_error([&] { store.start("auto1", "exec2"); }, ActionStoreError::Kind::conflict) ==
          "auto1 already executing by exec at 2026-05-28T20:26:40.000Z");
}

TEST_CASE("expiry: the sweep expires due proposals and approving one is refused",
          "[action_store]") {
    Fixture f;
    f.write(proposal("old"), 1h);
    f.write(proposal("young", true, "grafana"), 3h);
    auto store = f.store();
    CHECK(store.expire_due().empty());
    CHECK(expect_error([&] { store.expire("old"); }, ActionStoreError::Kind::conflict) ==
          "old does not expire until 2026-05-28T21:26:40.000Z");
    f.clock.advance(2h);
    CHECK(store.expire_due() == std::vector<std::string>{"old"});
    CHECK((*as_json(store.read("old")))["status"] == "expired");
    CHECK((*as_json(store.read("old")))["decided_by"] == "planner");
    CHECK(expect_error([&] { store.approve("old", "alice", ""); }, ActionStoreError::Kind::expired)
              .starts_with("old already expired by planner at "));
    // Due but not yet swept: approving expires it and says so.
    f.clock.advance(2h);
    CHECK(expect_error([&] { store.approve("young", "alice", ""); },
                       ActionStoreError::Kind::expired) ==
          "young expired at 2026-05-28T23:26:40.000Z");
    CHECK((*as_json(store.read("young")))["status"] == "expired");
    CHECK((*as_json(store.read("young")))["decision_note"] ==
          "pending past 2026-05-28T23:26:40.000Z");
    CHECK(store.history().size() == 2);
    CHECK(f.events.emitted().size() == 2);
    CHECK(f.events.emitted()[0].type == "remediation_expired");
}

TEST_CASE("a file without expires_at expires proposal_ttl after its timestamp", "[action_store]") {
    Fixture f;
    auto p = proposal("legacy");
    p.created_at = f.clock.wall_now();
    FileActionSink(f.actions, {false}).write(p);  // no expires_at, as before this feature
    auto o = f.options();
    o.proposal_ttl = 10min;
    FileActionStore store(o, &f.events, f.clock.wall_source());
    f.clock.advance(9min);
    CHECK(store.expire_due().empty());
    f.clock.advance(2min);
    CHECK(store.expire_due() == std::vector<std::string>{"legacy"});
}

TEST_CASE("a proposal_ttl of zero never expires a file without expires_at", "[action_store]") {
    Fixture f;
    auto p = proposal("forever");
    p.created_at = f.clock.wall_now();
    FileActionSink(f.actions, {false}).write(p);
    auto o = f.options();
    o.proposal_ttl = std::chrono::seconds{0};
    FileActionStore store(o, &f.events, f.clock.wall_source());
    f.clock.advance(24h * 365);
    CHECK(store.expire_due().empty());
    CHECK((*as_json(store.read("forever")))["status"] == "pending");
}

TEST_CASE("hostile ids never reach outside the actions directory", "[action_store]") {
    Fixture f;
    f.write(proposal("a1"));
    // A file outside the actions directory that a traversal would find.
    auto store = f.store();
    const std::string nul("a1\0x", 4);
    for (const std::string& id :
         {std::string("../x"), std::string("../actions/a1"), std::string("/etc/passwd"),
          std::string(10000, 'a'), nul, std::string(""), std::string(".hidden"), std::string("a/b"),
          std::string(".."), std::string("a1.json/..")}) {
        INFO(id.substr(0, 40));
        CHECK_FALSE(is_valid_action_id(id));
        expect_error([&] { as_json(store.read(id)); }, ActionStoreError::Kind::invalid_id);
        expect_error([&] { store.approve(id, "eve", ""); }, ActionStoreError::Kind::invalid_id);
        expect_error([&] { store.history(std::string_view(id)); },
                     ActionStoreError::Kind::invalid_id);
    }
    CHECK((*as_json(store.read("a1")))["status"] == "pending");
    CHECK(store.history().empty());
}

TEST_CASE("a symlink planted as an action file is not followed", "[action_store]") {
    Fixture f;
    testing::TempDir outside;
    f.write(proposal("real"));
    std::filesystem::copy_file(f.actions / "real.json", outside / "victim.json");
    std::filesystem::create_symlink(outside / "victim.json", f.actions / "link.json");
    auto store = f.store();
    CHECK_THROWS(store.approve("link", "eve", ""));
    CHECK(testing::read_text(outside / "victim.json").find("\"pending\"") != std::string::npos);
    CHECK(as_json(store.list()).size() == 1);
}

TEST_CASE("50 races between threads: exactly one approver wins", "[action_store][race]") {
    Fixture f;
    auto store = f.store();
    for (int round = 0; round < 50; ++round) {
        const std::string id = "race-" + std::to_string(round);
        f.write(proposal(id, true, "svc" + std::to_string(round)), 1h);
        if (round % 2 == 1) f.clock.advance(1h);  // odd rounds also race the expiry sweep
        std::atomic<int> winners{0};
        std::atomic<int> losers{0};
        std::atomic<bool> go{false};
        std::vector<std::string> messages(6);
        std::vector<std::thread> threads;
        for (int t = 0; t < 6; ++t) {
            threads.emplace_back([&, t] {
                while (!go.load()) std::this_thread::yield();
                try {
                    if (t == 5) {
                        store.expire(id);
                    } else {
                        store.approve(id, "approver" + std::to_string(t), "");
                    }
                    ++winners;
                } catch (const ActionStoreError& e) {
                    messages[static_cast<std::size_t>(t)] = e.what();
                    ++losers;
                }
            });
        }
        go = true;
        for (auto& t : threads) t.join();
        INFO("round " << round);
        const auto file = *as_json(store.read(id));
        for (const auto& m : messages) {
            if (m.empty()) continue;
            const bool explained =
                m.find(id + " already " + file["status"].get<std::string>() + " by " +
                       file["decided_by"].get<std::string>()) != std::string::npos ||
                m.find("does not expire") != std::string::npos ||
                m.find(id + " expired at") != std::string::npos;
            CHECK(explained);
        }
        // Exactly one transition happened, whoever made it: when the proposal was due, an
        // approver that got the lock first expires it itself and is refused.
        CHECK(store.history(id).size() == 1);
        if (round % 2 == 0) {
            CHECK(winners == 1);
            CHECK(losers == 5);
            CHECK(file["status"] == "approved");
        } else {
            CHECK(winners <= 1);
            CHECK(file["status"] == "expired");
        }
        if (round % 2 == 1) f.clock.advance(-1h);
    }
}

TEST_CASE("50 races between processes: exactly one approver wins", "[action_store][race]") {
    Fixture f;
    for (int round = 0; round < 50; ++round) {
        const std::string id = "prace-" + std::to_string(round);
        f.write(proposal(id, true, "svc" + std::to_string(round)));
        std::vector<pid_t> children;
        int pipefd[2];
        REQUIRE(::pipe(pipefd) == 0);
        for (int c = 0; c < 4; ++c) {
            const pid_t pid = ::fork();
            REQUIRE(pid >= 0);
            if (pid == 0) {
                ::close(pipefd[1]);
                char go;
                if (::read(pipefd[0], &go, 1) < 0) ::_exit(3);  // all start together
                try {
                    FileActionStore child(f.options(), nullptr, f.clock.wall_source());
                    child.approve(id, "proc" + std::to_string(c), "");
                    ::_exit(0);
                } catch (const ActionStoreError& e) {
                    const std::string m = e.what();
                    ::_exit(m.find(" already approved by proc") != std::string::npos ? 1 : 2);
                } catch (...) {
                    ::_exit(4);
                }
            }
            children.push_back(pid);
        }
        ::close(pipefd[0]);
        ::close(pipefd[1]);  // EOF releases every child at once
        int winners = 0, losers = 0, other = 0;
        for (const pid_t pid : children) {
            int status = 0;
            ::waitpid(pid, &status, 0);
            const int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
            (code == 0 ? winners : code == 1 ? losers : other)++;
        }
        INFO("round " << round);
        CHECK(winners == 1);
        CHECK(losers == 3);
        CHECK(other == 0);
    }
    FileActionStore store(f.options(), nullptr, f.clock.wall_source());
    CHECK(store.history().size() == 50);  // every transition exactly once
}

TEST_CASE("list shows every action oldest first and skips what is not one", "[action_store]") {
    Fixture f;
    f.write(proposal("b2"));
    f.clock.advance(1s);
    f.write(proposal("a1", true, "grafana"));
    testing::write_text(f.actions / "notes.txt", "hello");
    testing::write_text(f.actions / "broken.json", "{");
    auto store = f.store();
    const auto all = as_json(store.list());
    REQUIRE(all.size() == 2);
    CHECK(all[0]["action_id"] == "b2");
    CHECK(all[1]["action_id"] == "a1");
}

TEST_CASE("pending index: one pending proposal per service, rebuilt from the directory",
          "[action_store]") {
    Fixture f;
    f.write(proposal("p1"));
    auto store = f.store();  // a restarted planner: reads the directory
    CHECK(store.find_pending("piha", "mosquitto") == std::optional<std::string>("p1"));
    CHECK_FALSE(store.find_pending("piha", "grafana"));
    f.clock.advance(10s);
    CHECK(store.note_occurrence("p1", f.clock.wall_now()));
    CHECK(store.note_occurrence("p1", f.clock.wall_now()));
    auto file = *as_json(store.read("p1"));
    CHECK(file["occurrences"] == 3);
    CHECK(file["last_seen"] == "2026-05-28T20:26:50.000Z");
    CHECK(store.history().empty());  // occurrences are not transitions

    store.approve("p1", "alice", "");
    CHECK_FALSE(store.find_pending("piha", "mosquitto"));
    CHECK_FALSE(store.note_occurrence("p1", f.clock.wall_now()));

    auto p2 = proposal("p2");
    store.added(p2);
    f.write(p2);
    CHECK(store.find_pending("piha", "mosquitto") == std::optional<std::string>("p2"));
    f.clock.advance(25h);  // expired, even before the sweep: plan anew
    CHECK_FALSE(store.find_pending("piha", "mosquitto"));
}

TEST_CASE("pending index: a decision by another store on the directory is seen at once",
          "[action_store]") {
    Fixture f;
    f.write(proposal("p1"));
    f.write(proposal("p2", true, "grafana"));
    auto agent_store = f.store();  // the planner's, indexed from the directory
    CHECK(agent_store.count_pending() == 2);
    // Its own rewrites keep the proposal pending in its index.
    CHECK(agent_store.note_occurrence("p1", f.clock.wall_now()));
    CHECK(agent_store.note_affected("p1", {"piha/loki"}));
    CHECK(agent_store.find_pending("piha", "mosquitto") == std::optional<std::string>("p1"));
    {
        auto ctl = f.store();  // planner-ctl, another instance (as another process would be)
        ctl.approve("p1", "alice", "");
    }
    CHECK_FALSE(agent_store.find_pending("piha", "mosquitto"));
    CHECK(agent_store.find_pending("piha", "grafana") == std::optional<std::string>("p2"));
    // A file removed by hand is gone too.
    std::filesystem::remove(f.actions / "p2.json");
    CHECK(agent_store.count_pending() == 0);
    CHECK_FALSE(agent_store.find_pending("piha", "grafana"));
}

TEST_CASE("the start-up scan is handed over once", "[action_store]") {
    Fixture f;
    f.write(proposal("p1"));
    f.write(proposal("p2", false, "grafana"));
    auto store = f.store();
    const auto scanned = store.take_startup_scan();
    REQUIRE(scanned.size() == 2);
    CHECK(as_json(scanned) == as_json(store.list()));
    CHECK(store.take_startup_scan().empty());
}
