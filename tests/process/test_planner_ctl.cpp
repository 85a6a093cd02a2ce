// planner-ctl as a subprocess: every command, its exit codes and its one-line refusals.

#include <catch2/catch.hpp>

#include "planner/file_action_store.hpp"
#include "planner/file_sinks.hpp"
#include "planner/testing.hpp"
#include "support/ctl_process.hpp"
#include "support/process.hpp"
#include "support/temp_dir.hpp"

using namespace planner;
using namespace planner::testing;
using namespace std::chrono_literals;

namespace {

struct CtlFixture {
    TempDir tmp;
    std::filesystem::path actions = tmp / "actions";

    CtlFixture() { std::filesystem::create_directories(actions); }

    void write(const std::string& id, bool requires_human = true,
               std::chrono::system_clock::duration expires_in = 24h) {
        // planner-ctl judges expiry by the real clock: proposed now.
        const ActionProposal p = a_proposal()
                                     .id(id)
                                     .service(id)
                                     .requires_human(requires_human)
                                     .model("rules", 2)
                                     .correction("confidence below 0.7 requires a human")
                                     .created_at(std::chrono::system_clock::now())
                                     .expires_in(expires_in);
        FileActionSink(actions, {false}).write(p);
    }

    CtlResult run(std::vector<std::string> args) {
        std::vector<std::string> argv = {PLANNER_CTL_PATH,
                                         "--actions-dir",
                                         actions.string(),
                                         "--state-dir",
                                         (tmp / "state").string(),
                                         "--events-dir",
                                         (tmp / "events").string(),
                                         "--node",
                                         "solaria"};
        argv.insert(argv.end(), args.begin(), args.end());
        return run_ctl_process(std::move(argv), tmp.path());
    }

    nlohmann::json file(const std::string& id) {
        return nlohmann::json::parse(read_text(actions / (id + ".json")));
    }
};

std::size_t count_lines(const std::string& s) {
    return static_cast<std::size_t>(std::count(s.begin(), s.end(), '\n'));
}

}  // namespace

TEST_CASE("planner-ctl list shows a table and one JSON object per line", "[ctl]") {
    CtlFixture f;
    f.write("a1");
    f.write("b2", false);
    auto r = f.run({"list"});
    CHECK(r.code == 0);
    CHECK(r.out.find("NODE/SERVICE") != std::string::npos);
    CHECK(r.out.find("piha/a1") != std::string::npos);
    CHECK(r.out.find("pending") != std::string::npos);
    CHECK(r.out.find("23h") != std::string::npos);  // expires in
    CHECK(count_lines(r.out) == 3);

    r = f.run({"list", "--json"});
    CHECK(r.code == 0);
    CHECK(count_lines(r.out) == 2);
    CHECK(nlohmann::json::parse(r.out.substr(0, r.out.find('\n')))["status"] == "pending");

    f.run({"approve", "a1", "--by", "alice"});
    r = f.run({"list", "--status", "approved", "--json"});
    CHECK(count_lines(r.out) == 1);
    CHECK(r.out.find("\"a1\"") != std::string::npos);
    CHECK(f.run({"list", "--status", "bogus"}).code == 2);
}

TEST_CASE("planner-ctl show prints reason, corrections and attempts", "[ctl]") {
    CtlFixture f;
    f.write("a1");
    const auto r = f.run({"show", "a1"});
    CHECK(r.code == 0);
    CHECK(r.out.find("exited with code 137") != std::string::npos);
    CHECK(r.out.find("[policy: confidence below 0.7 requires a human]") != std::string::npos);
    CHECK(r.out.find("after 2 attempt(s)") != std::string::npos);
    const auto missing = f.run({"show", "nope"});
    CHECK(missing.code == 1);
    CHECK(missing.err == "planner-ctl: no action nope\n");
}

TEST_CASE("planner-ctl approve, start, finish, history", "[ctl]") {
    CtlFixture f;
    f.write("a1");
    auto r = f.run({"approve", "a1", "--by", "alice", "--note", "go"});
    CHECK(r.code == 0);
    CHECK(r.out == "a1: pending -> approved\n");
    CHECK(f.file("a1")["decided_by"] == "alice");

    r = f.run({"approve", "a1", "--by", "bob"});
    CHECK(r.code == 1);
    CHECK(r.err.starts_with("planner-ctl: a1 already approved by alice at "));
    CHECK(count_lines(r.err) == 1);

    CHECK(f.run({"finish", "a1", "--result", "succeeded"}).code == 1);  // not started
    CHECK(f.run({"start", "a1", "--by", "exec"}).code == 0);
    CHECK(f.run({"finish", "a1", "--result", "failed", "--detail", "no such container"}).code == 0);
    CHECK(f.file("a1")["status"] == "failed");
    CHECK(f.file("a1")["result"] == "no such container");

    r = f.run({"history", "a1", "--json"});
    CHECK(r.code == 0);
    REQUIRE(count_lines(r.out) == 3);
    CHECK(nlohmann::json::parse(r.out.substr(0, r.out.find('\n')))["to"] == "failed");
    r = f.run({"history"});
    CHECK(r.out.find("pending -> approved  by alice  (go)") != std::string::npos);

    // Events: approved and failed, under this planner's node.
    std::size_t events = 0;
    for (const auto& e : std::filesystem::recursive_directory_iterator(f.tmp / "events")) {
        events += e.is_regular_file();
    }
    CHECK(events == 2);
}

TEST_CASE("planner-ctl reject needs a reason, start needs approval", "[ctl]") {
    CtlFixture f;
    f.write("h1");
    f.write("auto1", false);
    CHECK(f.run({"reject", "h1", "--by", "bob"}).code == 2);
    CHECK(f.run({"start", "h1"}).err == "planner-ctl: h1 requires a human's approval first\n");
    CHECK(f.run({"reject", "h1", "--by", "bob", "--reason", "backup window"}).code == 0);
    CHECK(f.file("h1")["decision_note"] == "backup window");
    CHECK(f.run({"start", "auto1"}).code == 0);  // requires_human false: straight from pending
}

TEST_CASE("planner-ctl refuses an expired proposal", "[ctl]") {
    CtlFixture f;
    f.write("old", true, -1min);
    const auto r = f.run({"approve", "old", "--by", "alice"});
    CHECK(r.code == 1);
    CHECK(r.err.starts_with("planner-ctl: old expired at "));
    CHECK(f.file("old")["status"] == "expired");
}

TEST_CASE("planner-ctl usage errors exit 2 and hostile ids touch nothing", "[ctl]") {
    CtlFixture f;
    f.write("a1");
    CHECK(f.run({}).code == 2);
    CHECK(f.run({"frobnicate"}).code == 2);
    CHECK(f.run({"approve", "a1"}).code == 2);  // --by missing
    CHECK(f.run({"finish", "a1", "--result", "maybe"}).code == 2);
    CHECK(f.run({"list", "--bogus"}).code == 2);
    CHECK(f.run({"--help"}).code == 0);
    for (const std::string& id : std::vector<std::string>{
             "../x", "/etc/passwd", std::string(10000, 'a'), "a1/../a1", "..", ".hidden"}) {
        INFO(id.substr(0, 30));
        const auto r = f.run({"approve", id, "--by", "eve"});
        CHECK(r.code == 2);
        CHECK(count_lines(r.err) == 1);
        CHECK(f.run({"show", id}).code == 2);
    }
    CHECK(f.file("a1")["status"] == "pending");
    CHECK_FALSE(std::filesystem::exists(f.tmp / "state" / "audit.jsonl"));
}

TEST_CASE("planner-ctl --config reads planner-run's directories, and flags and variables win",
          "[ctl]") {
    CtlFixture f;
    f.write("a1");
    write_text(f.tmp / "planner.yaml", "actions_dir: " + f.actions.string() + "\nevents_dir: " +
                                           (f.tmp / "events").string() + "\nnode: solaria\n");
    const auto ctl = [&](std::vector<std::string> args,
                         std::vector<std::pair<std::string, std::string>> env = {}) {
        args.insert(args.begin(), PLANNER_CTL_PATH);
        return run_ctl_process(std::move(args), f.tmp.path(), std::move(env));
    };
    const std::string config = (f.tmp / "planner.yaml").string();
    auto r = ctl({"--config", config, "list", "--json"});
    CHECK(r.code == 0);
    CHECK(count_lines(r.out) == 1);
    // The same through the variable, and after another option.
    CHECK(ctl({"list", "--json"}, {{"PLANNER_CONFIG", config}}).out == r.out);
    CHECK(ctl({"--node", "x", "--config", config, "list", "--json"}).out == r.out);
    // A flag wins over the file; so does a variable.
    std::filesystem::create_directories(f.tmp / "empty");
    CHECK(count_lines(ctl({"--config", config, "--actions-dir", (f.tmp / "empty").string(), "list",
                           "--json"})
                          .out) == 0);
    CHECK(count_lines(ctl({"--config", config, "list", "--json"},
                          {{"ACTIONS_DIR", (f.tmp / "empty").string()}})
                          .out) == 0);
    // A broken file: exit 2, one line that names the file, line and key.
    write_text(f.tmp / "broken.yaml", "actions_dri: /x\n");
    r = ctl({"--config", (f.tmp / "broken.yaml").string(), "list"});
    CHECK(r.code == 2);
    CHECK(count_lines(r.err) == 1);
    CHECK_THAT(r.err, Catch::Contains("broken.yaml:1:") && Catch::Contains("actions_dri"));
}
