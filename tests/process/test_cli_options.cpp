// planner-run's option parser and healthcheck, called directly with an injected environment.

#ifdef PLANNER_RUN_PATH

#include <map>

#include <catch2/catch.hpp>

#include "config_options.hpp"
#include "planner_run.hpp"
#include "run_options.hpp"
#include "support/cli_env.hpp"
#include "support/temp_dir.hpp"

using namespace planner;
using namespace planner::cli;
using namespace planner::testing;
using namespace std::chrono_literals;

TEST_CASE("defaults are the documented ones", "[cli]") {
    const auto p = parse({});
    REQUIRE(p.command == Command::run);
    const auto& o = p.options;
    CHECK(o.redis.host == "127.0.0.1");
    CHECK(o.redis.port == 6379);
    CHECK(o.redis.db == 0);
    CHECK(o.channels == std::vector<std::string>{"health_events", "world_updates"});
    CHECK(o.models == std::vector<std::string>{"ollama/qwen2.5:7b", "rules"});
    CHECK(o.cooldown == 300s);
    CHECK(o.llm_timeout == 60s);
    CHECK(o.workers == 1);
    CHECK(o.stop_grace == 30s);
    CHECK(o.max_age == 300s);
    CHECK(o.state_dir == "/var/lib/homelab-planner");
    CHECK(o.proposal_ttl == 24h);
    CHECK_FALSE(o.node.empty());  // the host name
    CHECK_FALSE(o.dry_run);
    CHECK_FALSE(o.replay);
    CHECK(o.log_level == LogLevel::info);
    CHECK(o.log_format == LogFormat::json);
}

TEST_CASE("environment variables fill in absent flags", "[cli]") {
    const auto p = parse({}, {{"REDIS_URL", "redis://:pw@redis.lan:6380/2"},
                              {"PLANNER_CHANNELS", "a, b,,c"},
                              {"ACTIONS_DIR", "/data/actions"},
                              {"EVENTS_DIR", "/data/events"},
                              {"NODE_NAME", "solaria"},
                              {"PLANNER_COOLDOWN_SECONDS", "90"},
                              {"PLANNER_MODELS", "openai/gpt-4o-mini,rules"},
                              {"PLANNER_LLM_TIMEOUT", "2.5"},
                              {"PLANNER_WORKERS", "2"},
                              {"HEARTBEAT_FILE", "/run/hb"},
                              {"PLANNER_LOG_LEVEL", "debug"},
                              {"PLANNER_LOG_FORMAT", "text"},
                              {"PLANNER_STATE_DIR", "/data/state"},
                              {"PLANNER_PROPOSAL_TTL", "1h30m"}});
    REQUIRE(p.command == Command::run);
    const auto& o = p.options;
    CHECK(o.state_dir == "/data/state");
    CHECK(o.proposal_ttl == 90min);
    CHECK(o.redis.host == "redis.lan");
    CHECK(o.redis.port == 6380);
    CHECK(o.redis.db == 2);
    CHECK(o.redis.password == "pw");
    CHECK(o.channels == std::vector<std::string>{"a", "b", "c"});
    CHECK(o.actions_dir == "/data/actions");
    CHECK(o.events_dir == "/data/events");
    CHECK(o.node == "solaria");
    CHECK(o.cooldown == 90s);
    CHECK(o.models == std::vector<std::string>{"openai/gpt-4o-mini", "rules"});
    CHECK(o.llm_timeout == 2500ms);
    CHECK(o.workers == 2);
    CHECK(o.heartbeat == "/run/hb");
    CHECK(o.log_level == LogLevel::debug);
    CHECK(o.log_format == LogFormat::text);
}

TEST_CASE("flags win over variables and repeat in order", "[cli]") {
    const auto p = parse(
        {"--channel", "x", "--channel=y", "--model", "rules", "--node=piha", "--cooldown", "0",
         "--dry-run", "--replay", "-"},
        {{"PLANNER_CHANNELS", "a,b"}, {"PLANNER_MODELS", "ollama/llama3"}, {"NODE_NAME", "other"}});
    REQUIRE(p.command == Command::run);
    CHECK(p.options.channels == std::vector<std::string>{"x", "y"});
    CHECK(p.options.models == std::vector<std::string>{"rules"});
    CHECK(p.options.node == "piha");
    CHECK(p.options.cooldown == 0s);
    CHECK(p.options.dry_run);
    CHECK(p.options.replay == "-");
}

TEST_CASE("state directory and proposal TTL flags: seconds or durations, flag over variable",
          "[cli]") {
    const auto p = parse({"--state-dir", "/srv/planner", "--proposal-ttl", "3600"},
                         {{"PLANNER_STATE_DIR", "/data/state"}, {"PLANNER_PROPOSAL_TTL", "5m"}});
    REQUIRE(p.command == Command::run);
    CHECK(p.options.state_dir == "/srv/planner");
    CHECK(p.options.proposal_ttl == 1h);
    CHECK(p.options.sources.at("state-dir") == "flag");
    CHECK(parse({"--proposal-ttl", "0"}).options.proposal_ttl == 0s);  // never expires
    CHECK(parse({"--proposal-ttl", "30m"}).options.proposal_ttl == 30min);
    CHECK(parse({"--proposal-ttl", "90s"}).options.proposal_ttl == 90s);
}

TEST_CASE("state_dir and proposal_ttl from the file, below flags, with their sources", "[cli]") {
    TempDir tmp;
    const auto file = tmp / "planner.yaml";
    write_text(file, "actions_dir: /x/actions\nstate_dir: /file/state\nproposal_ttl: 2h\n");
    auto p = parse({"--config", file.string()}, {{"PLANNER_PROPOSAL_TTL", "600"}});
    REQUIRE(p.command == Command::run);
    REQUIRE(apply_config(p.options).empty());
    CHECK(p.options.state_dir == "/file/state");
    CHECK(p.options.sources.at("state-dir") == "file");
    CHECK(p.options.proposal_ttl == 600s);
    CHECK(p.options.sources.at("proposal-ttl") == "variable");
    const auto yaml = print_config(p.options);
    CHECK_THAT(yaml, Catch::Contains("state_dir: \"/file/state\"  # file"));
    CHECK_THAT(yaml, Catch::Contains("proposal_ttl: 600s  # variable"));
    CHECK(parse_config(yaml, "printed").ok());

    // Unset everywhere: beside the actions directory, as planner-ctl reads it.
    write_text(file, "actions_dir: /x/actions\n");
    auto q = parse({"--config", file.string()});
    REQUIRE(apply_config(q.options).empty());
    CHECK(q.options.state_dir == "/x");
    CHECK(q.options.proposal_ttl == 24h);
    CHECK_THAT(print_config(q.options), Catch::Contains("proposal_ttl: 86400s  # default"));
}

TEST_CASE("the HTTP listener: off by default, flag > variable > file", "[cli]") {
    CHECK_FALSE(parse({}).options.http_listen);
    auto p = parse({"--http-listen", "127.0.0.1:0"},
                   {{"PLANNER_HTTP_LISTEN", "0.0.0.0:9"}, {"PLANNER_HTTP_TOKEN_FILE", "/v/t"}});
    REQUIRE(p.command == Command::run);
    CHECK(p.options.http_listen->to_string() == "127.0.0.1:0");
    CHECK(p.options.sources.at("http-listen") == "flag");
    CHECK(p.options.http_token_file == "/v/t");
    CHECK(p.options.sources.at("http-token-file") == "variable");

    TempDir tmp;
    const auto file = tmp / "planner.yaml";
    write_text(file, "http:\n  listen: \"[::1]:8080\"\n  token_file: /file/token\n");
    auto q = parse({"--config", file.string()}, {{"PLANNER_HTTP_TOKEN_FILE", "/v/t"}});
    REQUIRE(apply_config(q.options).empty());
    CHECK(q.options.http_listen->to_string() == "[::1]:8080");
    CHECK(q.options.sources.at("http-listen") == "file");
    CHECK(q.options.http_token_file == "/v/t");
    const auto yaml = print_config(q.options);
    CHECK_THAT(yaml, Catch::Contains("  listen: \"[::1]:8080\"  # file"));
    CHECK_THAT(yaml, Catch::Contains("  token_file: \"/v/t\"  # variable"));
    CHECK(parse_config(yaml, "printed").ok());
    CHECK_THAT(print_config(parse({}).options), Catch::Contains("http: {}  # default"));

    const auto bad = parse({"--http-listen", "localhost"});
    CHECK(bad.command == Command::error);
    CHECK(bad.error == "--http-listen: 'localhost' is not ADDR:PORT: no ':PORT'");
    CHECK(parse({}, {{"PLANNER_HTTP_LISTEN", "x:y"}}).error.starts_with("PLANNER_HTTP_LISTEN: "));
}

TEST_CASE("bad options give one clear line", "[cli]") {
    const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
        {{"--bogus"}, "unknown argument '--bogus'"},
        {{"--redis", "http://x"}, "--redis: "},
        {{"--redis", "redis://h:99999"}, "--redis: "},
        {{"--model", "nope/x"}, "--model: "},
        {{"--cooldown", "-1"}, "--cooldown needs"},
        {{"--llm-timeout", "0"}, "--llm-timeout needs"},
        {{"--workers", "0"}, "--workers needs"},
        {{"--workers", "3x"}, "--workers needs"},
        {{"--log-level", "loud"}, "--log-level must be"},
        {{"--log-format", "xml"}, "--log-format must be"},
        {{"--node"}, "--node needs a value"},
        {{"--dry-run=yes"}, "--dry-run takes no value"},
        {{"--healthcheck"}, "--healthcheck needs --heartbeat"},
        {{"--channel", ""}, "--channel needs a non-empty name"},
        {{"--proposal-ttl", "soon"}, "--proposal-ttl needs"},
        {{"--proposal-ttl", "-5"}, "--proposal-ttl needs"},
        {{"--proposal-ttl", "1500ms"}, "--proposal-ttl needs"},
        {{"--state-dir", ""}, "--state-dir needs"},
    };
    for (const auto& [args, expected] : cases) {
        const auto p = parse(args);
        INFO(args.front() << " -> " << p.error);
        CHECK(p.command == Command::error);
        CHECK(p.error.find(expected) != std::string::npos);
        CHECK(p.error.find('\n') == std::string::npos);
    }
}

TEST_CASE("a bad variable is named in the error", "[cli]") {
    const auto p = parse({}, {{"PLANNER_COOLDOWN_SECONDS", "soon"}});
    REQUIRE(p.command == Command::error);
    CHECK(p.error.starts_with("PLANNER_COOLDOWN_SECONDS: "));
}

TEST_CASE("a password in a bad Redis URL never reaches the error", "[cli]") {
    const auto p = parse({"--redis", "redis://user:hunter2@host:notaport/0"});
    REQUIRE(p.command == Command::error);
    CHECK(p.error.find("hunter2") == std::string::npos);
}

TEST_CASE("help and version win over everything else", "[cli]") {
    CHECK(parse({"--workers", "2", "--help"}).command == Command::help);
    CHECK(parse({"--version"}).command == Command::version);
    CHECK(parse({"--version", "--help"}).command == Command::help);
    CHECK(parse({"--heartbeat", "/x", "--healthcheck"}).command == Command::healthcheck);
}

TEST_CASE("help lists every flag and variable", "[cli]") {
    const auto text = usage();
    for (const char* needle : {"--redis",
                               "REDIS_URL",
                               "--channel",
                               "PLANNER_CHANNELS",
                               "--replay",
                               "--actions-dir",
                               "ACTIONS_DIR",
                               "--events-dir",
                               "EVENTS_DIR",
                               "--node",
                               "NODE_NAME",
                               "--cooldown",
                               "PLANNER_COOLDOWN_SECONDS",
                               "--model",
                               "PLANNER_MODELS",
                               "--llm-timeout",
                               "PLANNER_LLM_TIMEOUT",
                               "--workers",
                               "--heartbeat",
                               "HEARTBEAT_FILE",
                               "--healthcheck",
                               "--max-age",
                               "--dry-run",
                               "--log-level",
                               "--log-format",
                               "--version",
                               "--help"}) {
        INFO(needle);
        CHECK(text.find(needle) != std::string::npos);
    }
}

TEST_CASE("the command line: --flag=value, repeated flags, and --help in groups", "[cli]") {
    const auto p = parse({"--node=first", "--node", "second", "--channel=a", "--channel", "b",
                          "--workers=3", "--dry-run"},
                         {{"PLANNER_CHANNELS", "from,variable"}, {"NODE_NAME", "variable"}});
    REQUIRE(p.command == Command::run);
    CHECK(p.options.node == "second");  // a repeated flag: the last one wins
    CHECK(p.options.channels == std::vector<std::string>{"a", "b"});  // flags replace the variable
    CHECK(p.options.workers == 3);
    CHECK(p.options.dry_run);
    CHECK(p.options.sources.at("channel") == "flag");

    // A positional argument is refused like an unknown flag, naming it.
    const auto extra = parse({"--dry-run", "stray"});
    REQUIRE(extra.command == Command::error);
    CHECK(extra.error == "unknown argument 'stray' (see --help)");

    // --help: the four groups in order, each flag with its variable beside it.
    const auto text = usage();
    const auto at = [&](const char* s) { return text.find(s); };
    REQUIRE(at("intake:") != std::string::npos);
    CHECK(at("intake:") < at("outputs:"));
    CHECK(at("outputs:") < at("models:"));
    CHECK(at("models:") < at("operation:"));
    CHECK(at("--redis URL") < at("[REDIS_URL]"));
    CHECK(at("--redis URL") > at("intake:"));
    CHECK(at("--model SPEC") > at("models:"));
}

TEST_CASE("healthcheck compares the heartbeat's age with max age", "[cli]") {
    TempDir tmp;
    const auto hb = tmp / "heartbeat";
    const auto now = std::chrono::system_clock::now();
    CHECK(check_heartbeat(hb, 300s, now) == kExitUnhealthy);  // missing
    std::fclose(std::fopen(hb.c_str(), "w"));
    CHECK(check_heartbeat(hb, 300s, std::chrono::system_clock::now()) == kExitOk);
    CHECK(check_heartbeat(hb, 300s, std::chrono::system_clock::now() + 301s) == kExitUnhealthy);
}

TEST_CASE("the event clock and eval flags parse and refuse misuse", "[cli]") {
    CHECK(parse({}).options.clock == ClockKind::wall);
    const auto replay = parse({"--replay", "day.jsonl", "--clock", "event"});
    REQUIRE(replay.command == Command::run);
    CHECK(replay.options.clock == ClockKind::event);

    const auto eval = parse({"--eval", "incidents.jsonl", "--json", "--model",
                             "script:garbage,rules", "--model", "script:restart-max"});
    REQUIRE(eval.command == Command::eval);
    CHECK(eval.options.eval == "incidents.jsonl");
    CHECK(eval.options.json);
    CHECK(eval.options.models ==
          std::vector<std::string>{"script:garbage,rules", "script:restart-max"});

    const auto live = parse({"--clock", "event"});
    REQUIRE(live.command == Command::error);
    CHECK(live.error.starts_with("--clock event needs --replay FILE or --eval FILE"));
    CHECK(parse({"--clock", "soon", "--replay", "x"}).error ==
          "--clock must be wall or event, got 'soon'");
    CHECK(parse({"--json"}).error == "--json needs --eval FILE");
    CHECK(parse({"--eval", "a", "--replay", "b"}).error ==
          "--eval and --replay cannot be combined");
    // Scripted adversaries and comma chains exist only for --eval: production specs stay clean.
    CHECK(parse({"--model", "script:restart-max"}).error ==
          "--model script:restart-max: scripted models exist only for --eval FILE");
    CHECK(parse({"--model", "ollama/a,rules"}).command == Command::error);
    CHECK(parse({"--eval", "a", "--model", "bogus/x"}).command == Command::error);
}

#endif  // PLANNER_RUN_PATH
