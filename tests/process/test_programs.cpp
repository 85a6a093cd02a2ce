// What planner-run and planner-ctl share (src/common): one precedence, flag > variable > file >
// default; the same default configuration file; the events directory beside the state; and
// --flag=value everywhere. planner-ctl is called in-process here, with an injected environment.

#if defined(PLANNER_RUN_PATH) && defined(PLANNER_CTL_PATH)

#include <cstdio>
#include <map>

#include <catch2/catch.hpp>

#include "config_options.hpp"
#include "ctl.hpp"
#include "planner/action_store.hpp"
#include "planner/file_sinks.hpp"
#include "planner/testing.hpp"
#include "program_options.hpp"
#include "run_options.hpp"
#include "support/cli_env.hpp"
#include "support/ctl_process.hpp"
#include "support/temp_dir.hpp"

using namespace planner;
using namespace planner::testing;
using namespace std::chrono_literals;

namespace {

using Env = std::map<std::string, std::string>;

void write_proposal(const std::filesystem::path& actions, const std::string& id) {
    FileActionSink(actions, {false})
        .write(a_proposal()
                   .id(id)
                   .service(id)
                   .created_at(std::chrono::system_clock::now())
                   .expires_in(24h));
}

struct Captured {
    int code = -1;
    std::string out;
    std::string err;
};

std::string drain(std::FILE* f) {
    std::string text;
    std::rewind(f);
    char buf[4096];
    for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, f)) > 0;) text.append(buf, n);
    std::fclose(f);
    return text;
}

Captured ctl_here(const std::vector<std::string>& args, Env env = {},
                  std::filesystem::path default_config = "/nonexistent/planner.yaml") {
    std::FILE* out = std::tmpfile();
    std::FILE* err = std::tmpfile();
    Captured c;
    c.code = ctl::run_ctl(args, out, err, {env_lookup(std::move(env)), std::move(default_config)});
    c.out = drain(out);
    c.err = drain(err);
    return c;
}

std::size_t lines(const std::string& s) {
    return static_cast<std::size_t>(std::count(s.begin(), s.end(), '\n'));
}

}  // namespace

TEST_CASE("the resolver: flag > variable > file > default, recorded per setting", "[programs]") {
    for (const auto& [args, env, expected, source] :
         std::vector<std::tuple<std::vector<std::string>, Env, std::string, std::string>>{
             {{"--dir=flag"}, {{"DIR", "variable"}}, "flag", "flag"},
             {{"--dir", "flag"}, {}, "flag", "flag"},
             {{}, {{"DIR", "variable"}}, "variable", "variable"},
             {{}, {{"DIR", ""}}, "file", "file"},  // an empty variable is unset
             {{}, {}, "file", "file"},
         }) {
        CLI::App app;
        std::string dir = "default";
        app.add_option("--dir")->envname("DIR")->each([&](const std::string& v) { dir = v; });
        const auto variables = programs::detach_variables(app);
        REQUIRE(variables.size() == 1);
        CHECK(app.get_option("--dir")->get_envname().empty());  // CLI11 never calls getenv
        std::vector<std::string> reversed(args.rbegin(), args.rend());
        app.parse(reversed);
        programs::Sources sources;
        programs::apply_variables(variables, env_lookup(env), sources);
        programs::take_from_file(sources, "dir", std::optional<std::string>("file"), "file",
                                 [&](const std::string& v) { dir = v; });
        CHECK(dir == expected);
        CHECK(sources.at("dir") == source);
    }
    CHECK(programs::default_state_dir("/srv/planner/actions") == "/srv/planner");
    CHECK(programs::default_state_dir("actions") == ".");
    CHECK(programs::default_events_dir("/srv/planner") == "/srv/planner/events");
}

TEST_CASE("both programs read the default configuration file when it exists", "[programs]") {
    TempDir tmp;
    const auto file = tmp / "planner.yaml";
    const auto actions = tmp / "from-file" / "actions";
    std::filesystem::create_directories(actions);
    write_proposal(actions, "a1");
    write_text(file, "actions_dir: " + actions.string() + "\nnode: filenode\n");

    // planner-run: the default file when neither --config nor PLANNER_CONFIG names one.
    const auto p = cli::parse_command_line({}, env_lookup({}), file);
    REQUIRE(p.command == cli::Command::run);
    REQUIRE(p.options.config);
    CHECK(*p.options.config == file);
    CHECK(p.options.sources.at("config") == "default");
    auto o = p.options;
    REQUIRE(cli::apply_config(o).empty());
    CHECK(o.actions_dir == actions);
    CHECK(o.node == "filenode");
    // Absent: the built-in configuration, as before.
    CHECK_FALSE(cli::parse_command_line({}, env_lookup({}), tmp / "missing.yaml").options.config);
    // Named: the named file wins over the default one.
    CHECK(*cli::parse_command_line({}, env_lookup({{"PLANNER_CONFIG", "/x.yaml"}}), file)
               .options.config == "/x.yaml");

    // planner-ctl: the same file, the same directories.
    auto r = ctl_here({"list", "--json"}, {}, file);
    CHECK(r.code == 0);
    CHECK(lines(r.out) == 1);
    CHECK(ctl_here({"list", "--json"}, {}, tmp / "missing.yaml").out.empty());
}

TEST_CASE("planner-ctl: flag > variable > file > default through the shared resolver",
          "[programs]") {
    TempDir tmp;
    const auto dir = [&](const std::string& name, int proposals) {
        const auto d = tmp / name / "actions";
        std::filesystem::create_directories(d);
        for (int i = 0; i < proposals; ++i) write_proposal(d, name + std::to_string(i));
        return d.string();
    };
    const auto file_dir = dir("file", 1);
    const auto variable_dir = dir("variable", 2);
    const auto flag_dir = dir("flag", 3);
    write_text(tmp / "planner.yaml", "actions_dir: " + file_dir + "\n");
    const Env env = {{"PLANNER_CONFIG", (tmp / "planner.yaml").string()}};
    CHECK(lines(ctl_here({"list", "--json"}, env).out) == 1);
    Env with_variable = env;
    with_variable["ACTIONS_DIR"] = variable_dir;
    CHECK(lines(ctl_here({"list", "--json"}, with_variable).out) == 2);
    CHECK(lines(ctl_here({"--actions-dir", flag_dir, "list", "--json"}, with_variable).out) == 3);
    CHECK(lines(ctl_here({"--actions-dir=" + flag_dir, "list", "--json"}, with_variable).out) == 3);
}

TEST_CASE("planner-ctl: --flag=value, and the events directory follows --state-dir", "[programs]") {
    TempDir tmp;
    const auto actions = tmp / "actions";
    std::filesystem::create_directories(actions);
    write_proposal(actions, "a1");
    const auto state = tmp / "elsewhere";
    const auto r = ctl_here({"--actions-dir=" + actions.string(), "--state-dir=" + state.string(),
                             "--node=solaria", "approve", "a1", "--by=alice", "--note=ok"});
    INFO(r.err);
    CHECK(r.code == 0);
    CHECK(r.out == "a1: pending -> approved\n");
    CHECK(std::filesystem::exists(state / "audit.jsonl"));
    // The remediation event lands in <state>/events, not /var/lib/homelab-planner/events.
    const auto started = ctl_here({"--actions-dir", actions.string(), "--state-dir", state.string(),
                                   "--node", "solaria", "start", "a1", "--by", "bob"});
    CHECK(started.code == 0);
    CHECK_FALSE(list_tree(state / "events").empty());

    // Without --state-dir: the actions directory's parent, and its events/.
    write_proposal(actions, "a2");
    CHECK(ctl_here({"--actions-dir", actions.string(), "approve", "a2", "--by", "alice"}).code ==
          0);
    CHECK(ctl_here({"--actions-dir", actions.string(), "start", "a2"}).code == 0);
    CHECK(std::filesystem::exists(tmp / "audit.jsonl"));
    CHECK_FALSE(list_tree(tmp / "events").empty());

    // The same as a process, with the variable.
    write_proposal(actions, "a3");
    const auto state3 = tmp / "third";
    const auto p = run_ctl_process(
        {PLANNER_CTL_PATH, "--actions-dir", actions.string(), "approve", "a3", "--by=carol"},
        tmp.path(), {{"PLANNER_STATE_DIR", state3.string()}});
    CHECK(p.code == 0);
    CHECK(std::filesystem::exists(state3 / "audit.jsonl"));
}

TEST_CASE("planner-run: the events directory follows the state directory", "[programs]") {
    auto p = cli::parse_command_line({"--state-dir=/srv/state", "--actions-dir=/srv/a/actions"},
                                     env_lookup({}), "/nonexistent/planner.yaml");
    REQUIRE(p.command == cli::Command::run);
    REQUIRE(cli::apply_config(p.options).empty());
    CHECK(p.options.events_dir == "/srv/state/events");
    auto q = cli::parse_command_line({"--actions-dir", "/srv/a/actions"}, env_lookup({}),
                                     "/nonexistent/planner.yaml");
    REQUIRE(cli::apply_config(q.options).empty());
    CHECK(q.options.state_dir == "/srv/a");
    CHECK(q.options.events_dir == "/srv/a/events");
    auto r = cli::parse_command_line({"--state-dir", "/s"}, env_lookup({{"EVENTS_DIR", "/e"}}),
                                     "/nonexistent/planner.yaml");
    REQUIRE(cli::apply_config(r.options).empty());
    CHECK(r.options.events_dir == "/e");
    CHECK(r.options.sources.at("events-dir") == "variable");
}

TEST_CASE("docs/running.md holds the flag table --help is built from", "[programs]") {
    const auto doc = read_text(std::filesystem::path(PLANNER_SOURCE_DIR) / "docs" / "running.md");
    const auto table = cli::flags_markdown();
    // On failure: replace the table in docs/running.md with this one (or change the
    // declarations in src/cli/run_options.cpp, where the text comes from).
    INFO(table);
    CHECK(doc.find(table) != std::string::npos);
    // Every declared flag is in it, and --help shows each one.
    const auto help = cli::usage();
    for (const char* flag : {"--redis", "--config", "--http-listen", "--eval", "--help"}) {
        CHECK(table.find(std::string("`") + flag) != std::string::npos);
        CHECK(help.find(flag) != std::string::npos);
    }
}

#endif
