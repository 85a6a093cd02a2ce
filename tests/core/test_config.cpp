#include <catch2/catch.hpp>

#include <fstream>
#include <sstream>

#include <planner/config.hpp>
#include <planner/messages.hpp>

using planner::ConfigError;
using planner::parse_config;

namespace {

std::vector<ConfigError> errors_of(std::string_view yaml) {
    const auto r = parse_config(yaml, "p.yaml");
    REQUIRE_FALSE(r.ok());
    return r.errors();
}

/// The one error of `yaml`, as `FILE:LINE:COL: path: message`.
std::string one_error(std::string_view yaml) {
    const auto errors = errors_of(yaml);
    std::string all;
    for (const auto& e : errors) all += e.to_string() + "\n";
    INFO(all);
    REQUIRE(errors.size() == 1);
    return errors[0].to_string();
}

const char* kIssueExample = R"(node: solaria                      # this planner's node name
redis: redis://127.0.0.1:6379/0
channels: [health_events, world_updates]
actions_dir: /var/lib/homelab-planner/actions
events_dir: /var/lib/homelab-planner/events
cooldown: 5m                       # durations: 300, "300s", "5m", "1h30m"
workers: 1
models:                            # tried in order; same specs as --model
  - spec: ollama/qwen2.5:7b
    timeout: 60s
  - spec: openai/gpt-4o-mini
    key_file: /etc/homelab-planner/openai.key
  - spec: rules
topology:
  nodes:
    nas01:
      description: Synology NAS, backups and media
      services:
        samba: {}
        jellyfin: {depends_on: [samba]}
    k3s-a:
      description: k3s server
      services:
        traefik: {}
        vaultwarden: {depends_on: [traefik], allowed_actions: [notify, ignore]}
rules:
  human_only_nodes: ["nas*"]              # shell patterns
  notify_only_event_types: [disk_pressure]
  min_confidence_without_human: 0.7
  human_only_services: ["*/vaultwarden"]  # node/service patterns
)";

std::string read_file(const std::string& path) {
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

}  // namespace

TEST_CASE("the issue's example loads with every key", "[config]") {
    const auto r = parse_config(kIssueExample, "p.yaml");
    if (!r.ok()) {
        for (const auto& e : r.errors()) FAIL(e.to_string());
    }
    const auto& c = r.config();
    CHECK(c.node == "solaria");
    REQUIRE(c.redis);  // parsed once, when the file was validated
    CHECK(c.redis->redacted() == "redis://127.0.0.1:6379/0");
    CHECK(c.channels == std::vector<std::string>{"health_events", "world_updates"});
    CHECK(c.actions_dir == std::filesystem::path("/var/lib/homelab-planner/actions"));
    CHECK(c.events_dir == std::filesystem::path("/var/lib/homelab-planner/events"));
    CHECK(c.cooldown == std::chrono::minutes{5});
    CHECK(c.workers == 1);
    REQUIRE(c.models.size() == 3);
    CHECK(c.models[0].spec == "ollama/qwen2.5:7b");
    CHECK(c.models[0].timeout == std::chrono::seconds{60});
    CHECK(c.models[1].key_file == "/etc/homelab-planner/openai.key");
    CHECK_FALSE(c.models[1].timeout);
    CHECK(c.models[2].spec == "rules");
    REQUIRE(c.topology);
    REQUIRE(c.topology->nodes.size() == 2);
    CHECK(c.topology->nodes[0].name == "nas01");  // the file's order, not alphabetical
    CHECK(c.topology->nodes[1].name == "k3s-a");
    CHECK(c.topology->nodes[0].description == "Synology NAS, backups and media");
    REQUIRE(c.topology->nodes[0].services.size() == 2);
    CHECK(c.topology->nodes[0].services[0].name == "samba");
    CHECK(c.topology->nodes[0].services[1].depends_on == std::vector<std::string>{"samba"});
    REQUIRE(c.rules);
    CHECK(c.rules->human_only_node_patterns == std::vector<std::string>{"nas*"});
    CHECK(c.rules->notify_only_event_types == std::vector<std::string>{"disk_pressure"});
    CHECK(c.rules->min_confidence_without_human == 0.7);
    CHECK(c.rules->human_only_service_patterns == std::vector<std::string>{"*/vaultwarden"});
    CHECK(c.rules->allowed_actions.at("k3s-a/vaultwarden") ==
          std::vector<std::string>{"notify", "ignore"});
    CHECK(c.document["workers"] == 1);
}

TEST_CASE("the built-in configuration is today's behaviour", "[config]") {
    const auto r = parse_config(planner::builtin_config_yaml(), "built-in");
    REQUIRE(r.ok());
    const auto& c = r.config();
    const planner::Topology defaults;
    REQUIRE(c.topology);
    REQUIRE(c.topology->nodes.size() == defaults.nodes.size());
    for (std::size_t i = 0; i < defaults.nodes.size(); ++i) {
        CHECK(c.topology->nodes[i].name == defaults.nodes[i].name);
        CHECK(c.topology->nodes[i].description == defaults.nodes[i].description);
        CHECK(c.topology->nodes[i].services.empty());
    }
    const planner::HouseRules rules;
    REQUIRE(c.rules);
    CHECK(c.rules->human_only_node_patterns == rules.human_only_node_patterns);
    CHECK(c.rules->notify_only_event_types == rules.notify_only_event_types);
    CHECK(c.rules->min_confidence_without_human == rules.min_confidence_without_human);
    CHECK(c.rules->human_only_service_patterns.empty());
    CHECK(c.rules->allowed_actions.empty());
    // Same prompt as the compiled-in defaults, byte for byte.
    const planner::PromptOptions builtin_prompt{*c.topology};
    CHECK(planner::build_system_prompt(*c.rules, builtin_prompt) == planner::build_system_prompt());
    CHECK(c.cooldown == std::chrono::seconds{300});
    CHECK(c.workers == 1);
    REQUIRE(c.models.size() == 2);
    CHECK(c.models[0].spec == "ollama/qwen2.5:7b");
    CHECK(c.models[1].spec == "rules");
}

TEST_CASE("the built-in configuration is examples/planner.yaml, and the examples are valid",
          "[config]") {
    CHECK(read_file(PLANNER_SOURCE_DIR "/examples/planner.yaml") == planner::builtin_config_yaml());
    for (const char* name : {"planner.yaml", "planner-one-pi.yaml", "planner-three-nodes.yaml"}) {
        const auto r = planner::load_config(std::string(PLANNER_SOURCE_DIR "/examples/") + name);
        INFO(name);
        if (!r.ok()) {
            for (const auto& e : r.errors()) FAIL(e.to_string());
        }
    }
}

TEST_CASE("an empty file is a valid configuration with every default", "[config]") {
    const auto r = parse_config("", "empty.yaml");
    REQUIRE(r.ok());
    CHECK_FALSE(r.config().node);
    CHECK(r.config().models.empty());
    CHECK_FALSE(r.config().topology);
    REQUIRE(r.config().rules);
    CHECK(r.config().rules->human_only_node_patterns.empty());
    CHECK(r.config().rules->notify_only_event_types == std::vector<std::string>{"disk_pressure"});
}

TEST_CASE("durations", "[config]") {
    using namespace std::chrono_literals;
    using planner::parse_duration;
    CHECK(parse_duration("300") == 300s);
    CHECK(parse_duration("300s") == 300s);
    CHECK(parse_duration("5m") == 5min);
    CHECK(parse_duration("1h30m") == 90min);
    CHECK(parse_duration("250ms") == 250ms);
    CHECK(parse_duration("1m30s") == 90s);
    CHECK_FALSE(parse_duration(""));
    CHECK_FALSE(parse_duration("5x"));
    CHECK_FALSE(parse_duration("m"));
    CHECK_FALSE(parse_duration("5m30"));
    CHECK_FALSE(parse_duration("-5s"));
    CHECK_FALSE(parse_duration("1.5h"));
    CHECK_FALSE(parse_duration("99999999999999999999h"));
    CHECK(parse_config("cooldown: 300", "p").config().cooldown == 300s);
    CHECK(parse_config("cooldown: \"1h30m\"", "p").config().cooldown == 90min);
}

TEST_CASE("unknown keys are errors at their line and column, with a suggestion", "[config]") {
    CHECK(one_error("node: a\ncooldwn: 5m\n") ==
          "p.yaml:2:1: cooldwn: unknown key 'cooldwn'; did you mean 'cooldown'?");
    CHECK(one_error("rules:\n  human_only_node: [x]\n") ==
          "p.yaml:2:3: rules.human_only_node: unknown key 'human_only_node'; did you mean "
          "'human_only_nodes'?");
    CHECK(one_error("colour: blue\n") == "p.yaml:1:1: colour: unknown key 'colour'");
    CHECK(one_error("models:\n  - spec: rules\n    timout: 5s\n") ==
          "p.yaml:3:5: models[0].timout: unknown key 'timout'; did you mean 'timeout'?");
}

TEST_CASE("wrong types name what was expected and what was found", "[config]") {
    CHECK(one_error("workers: many\n") ==
          "p.yaml:1:10: workers: expected a whole number, found the text 'many'");
    CHECK(one_error("channels: health_events\n") ==
          "p.yaml:1:11: channels: expected a list, found the text 'health_events'");
    CHECK(one_error("models:\n  - rules\n") ==
          "p.yaml:2:5: models[0]: expected a mapping, found the text 'rules'");
    CHECK(one_error("workers: \"2\"\n") ==
          "p.yaml:1:10: workers: expected a whole number, found the text '2'");
}

TEST_CASE("bad durations", "[config]") {
    CHECK(one_error("cooldown: 5x\n") ==
          "p.yaml:1:11: cooldown: '5x' is not a duration: use seconds (300) or \"300s\", "
          "\"5m\", \"1h30m\", \"250ms\"");
    CHECK(one_error("models:\n  - spec: rules\n    timeout: 0\n") ==
          "p.yaml:3:14: models[0].timeout: must be more than 0");
    CHECK(one_error("models:\n  - spec: rules\n    keep_alive: 1500ms\n") ==
          "p.yaml:3:17: models[0].keep_alive: must be whole seconds");
}

TEST_CASE("state_dir and proposal_ttl", "[config]") {
    using namespace std::chrono_literals;
    const auto r = parse_config("state_dir: /srv/planner\nproposal_ttl: 1h30m\n", "p");
    REQUIRE(r.ok());
    CHECK(r.config().state_dir == std::filesystem::path("/srv/planner"));
    CHECK(r.config().proposal_ttl == 90min);
    CHECK(parse_config("proposal_ttl: 0", "p").config().proposal_ttl == 0s);  // never expires
    CHECK(parse_config("proposal_ttl: 3600", "p").config().proposal_ttl == 1h);
    CHECK_FALSE(parse_config("node: a", "p").config().proposal_ttl);
    CHECK_FALSE(parse_config("node: a", "p").config().state_dir);
    CHECK(one_error("proposal_ttl: 1500ms\n") ==
          "p.yaml:1:15: proposal_ttl: must be whole seconds");
    CHECK_THAT(one_error("proposal_ttl: soon\n"), Catch::Contains("is not a duration"));
    CHECK_THAT(one_error("state_dir: \"\"\n"), Catch::StartsWith("p.yaml:1:12: state_dir: "));
}

TEST_CASE("http: listen address and token file", "[config]") {
    const auto r = parse_config("http:\n  listen: 127.0.0.1:0\n  token_file: /etc/t\n", "p");
    REQUIRE(r.ok());
    REQUIRE(r.config().http_listen);
    CHECK(r.config().http_listen->to_string() == "127.0.0.1:0");
    CHECK(r.config().http_token_file == std::filesystem::path("/etc/t"));
    CHECK_FALSE(parse_config("node: a", "p").config().http_listen);
    CHECK(one_error("http:\n  listen: 127.0.0.1:99999\n") ==
          "p.yaml:2:11: http.listen: '127.0.0.1:99999' is not ADDR:PORT: the port must be a "
          "number from 0 to 65535");
    CHECK_THAT(one_error("http:\n  listn: x\n"), Catch::StartsWith("p.yaml:2:3: http.listn: "));
}

TEST_CASE("rules.budget: limits and window, located errors", "[config][budget]") {
    using namespace std::chrono_literals;
    const auto r =
        parse_config("rules:\n  budget: {per_node: 3, per_homelab: 10, window: 2h}\n", "p");
    REQUIRE(r.ok());
    const planner::RemediationBudgetLimits full{3, 10, 2h};
    CHECK(r.config().rules->budget == full);
    const auto partial = parse_config("rules:\n  budget:\n    per_node: 1\n", "p");
    REQUIRE(partial.ok());
    const planner::RemediationBudgetLimits one{1, 0, 1h};
    CHECK(partial.config().rules->budget == one);
    CHECK_FALSE(parse_config("node: a", "p").config().rules->budget.enabled());
    CHECK(one_error("rules:\n  budget:\n    window: 0\n") ==
          "p.yaml:3:13: rules.budget.window: must be more than 0");
    CHECK(one_error("rules:\n  budget:\n    window: 1500ms\n") ==
          "p.yaml:3:13: rules.budget.window: must be whole seconds");
    CHECK_THAT(one_error("rules:\n  budget:\n    per_node: -1\n"),
               Catch::StartsWith("p.yaml:3:15: rules.budget.per_node: "));
    CHECK_THAT(one_error("rules:\n  budget:\n    per_nod: 1\n"),
               Catch::StartsWith("p.yaml:3:5: rules.budget"));
}

TEST_CASE("rules.escalate: after and window, located errors", "[config][escalation]") {
    using namespace std::chrono_literals;
    const auto r = parse_config("rules:\n  escalate: {after: 3, window: 2h}\n", "p");
    REQUIRE(r.ok());
    const planner::EscalationRules full{3, 2h};
    CHECK(r.config().rules->escalate == full);
    const auto partial = parse_config("rules:\n  escalate:\n    after: 4\n", "p");
    REQUIRE(partial.ok());
    const planner::EscalationRules four{4, 6h};
    CHECK(partial.config().rules->escalate == four);
    CHECK_FALSE(parse_config("node: a", "p").config().rules->escalate.enabled());
    CHECK(one_error("rules:\n  escalate:\n    window: 0\n") ==
          "p.yaml:3:13: rules.escalate.window: must be more than 0");
    CHECK(one_error("rules:\n  escalate:\n    window: 90500ms\n") ==
          "p.yaml:3:13: rules.escalate.window: must be whole seconds");
    CHECK_THAT(one_error("rules:\n  escalate:\n    after: -1\n"),
               Catch::StartsWith("p.yaml:3:12: rules.escalate.after: "));
    CHECK_THAT(one_error("rules:\n  escalate:\n    after: 1001\n"),
               Catch::StartsWith("p.yaml:3:12: rules.escalate.after: "));
    CHECK_THAT(one_error("rules:\n  escalate:\n    afer: 1\n"),
               Catch::StartsWith("p.yaml:3:5: rules.escalate"));
}

TEST_CASE("notify targets: files for secrets, errors that never echo a URL", "[config]") {
    const auto r = parse_config(
        "notify:\n"
        "  - type: ntfy\n    url: https://ntfy.example/homelab\n    token_file: /etc/t\n"
        "    priority: 5\n    tags: [house]\n"
        "  - type: webhook\n    url: https://hooks.example/in\n    when: always\n"
        "    secret_file: /etc/s\n    headers: {X-Api-Key: k1}\n    name: hub\n",
        "p");
    REQUIRE(r.ok());
    const auto& n = r.config().notify;
    REQUIRE(n.size() == 2);
    CHECK(n[0].type == "ntfy");
    CHECK(n[0].url == "https://ntfy.example/homelab");
    CHECK(n[0].when == "requires_human");
    CHECK(n[0].token_file == std::filesystem::path("/etc/t"));
    CHECK(n[0].priority == 5);
    CHECK(n[0].tags == std::vector<std::string>{"house"});
    CHECK(n[1].when == "always");
    CHECK(n[1].secret_file == std::filesystem::path("/etc/s"));
    REQUIRE(n[1].headers.size() == 1);
    CHECK(n[1].headers[0] == std::pair<std::string, std::string>{"X-Api-Key", "k1"});
    CHECK(n[1].name == "hub");
    CHECK(parse_config("node: a", "p").config().notify.empty());

    const auto bad_url = one_error("notify:\n  - type: slack\n    url: hooks.slack/T0/SECRET\n");
    CHECK(bad_url == "p.yaml:3:10: notify[0].url: must be an http:// or https:// URL");
    CHECK(one_error("notify:\n  - type: slack\n    url: https://h/x\n    token_file: /t\n") ==
          "p.yaml:4:5: notify[0].token_file: only ntfy and gotify targets take token_file");
    CHECK(one_error("notify:\n  - type: ntfy\n    url: https://h/x\n    priority: 8\n") ==
          "p.yaml:4:15: notify[0].priority: ntfy priorities are 1 to 5");
    CHECK_THAT(one_error("notify:\n  - type: gotify\n    url: https://h\n"),
               Catch::Contains("needs token_file"));
    CHECK_THAT(one_error("notify:\n  - type: pager\n    url: https://h\n"),
               Catch::StartsWith("p.yaml:2:11: notify[0].type: "));
    CHECK_THAT(one_error("notify:\n  - type: ntfy\n    url: https://h\n    token: abc\n"),
               Catch::Contains("unknown key 'token'"));
}

TEST_CASE("unknown model providers and bad specs", "[config]") {
    const auto e = one_error("models:\n  - spec: olama/qwen\n");
    CHECK_THAT(e, Catch::StartsWith("p.yaml:2:11: models[0].spec: "));
    CHECK_THAT(e, Catch::Contains("olama"));
    CHECK_THAT(one_error("models:\n  - timeout: 5s\n"), Catch::Contains("models[0]"));
}

TEST_CASE("patterns that can never match", "[config]") {
    CHECK(one_error("rules:\n  human_only_services: [vaultwarden]\n") ==
          "p.yaml:2:25: rules.human_only_services[0]: pattern 'vaultwarden' has no '/': a "
          "service pattern is node/service (e.g. '*/vaultwarden'), so this can never match");
    CHECK_THAT(one_error("rules:\n  human_only_nodes: [\"nas *\"]\n"),
               Catch::StartsWith("p.yaml:2:22: rules.human_only_nodes[0]: pattern 'nas *' "
                                 "contains a space"));
    CHECK_THAT(one_error("rules:\n  human_only_services: [\"nas/\"]\n"),
               Catch::Contains("empty node or service part"));
    CHECK(parse_config("rules:\n  human_only_services: [\"*\", \"nas?/*\"]\n", "p").ok());
}

TEST_CASE("depends_on must name a declared service", "[config]") {
    CHECK(one_error("topology:\n  nodes:\n    a:\n      services:\n        web: {depends_on: "
                    "[dbb]}\n        db: {}\n") ==
          "p.yaml:5:28: topology.nodes.a.services.web.depends_on[0]: depends_on names 'dbb', "
          "but 'a/dbb' is not a service in the topology; did you mean 'a/db'?");
    CHECK(parse_config("topology:\n  nodes:\n    a:\n      services:\n        web: {depends_on: "
                       "[b/db]}\n    b:\n      services:\n        db:\n",
                       "p")
              .ok());
}

TEST_CASE("dependency cycles are errors", "[config]") {
    const auto e = one_error(
        "topology:\n  nodes:\n    a:\n      services:\n        x: {depends_on: [y]}\n"
        "        y: {depends_on: [b/z]}\n    b:\n      services:\n        z: {depends_on: "
        "[a/x]}\n");
    CHECK_THAT(e, Catch::Contains("dependency cycle: a/x -> a/y -> b/z -> a/x"));
    CHECK_THAT(one_error("topology:\n  nodes:\n    a:\n      services:\n        x: {depends_on: "
                         "[x]}\n"),
               Catch::Contains("dependency cycle: a/x -> a/x"));
}

TEST_CASE("duplicate keys are errors", "[config]") {
    CHECK(one_error("node: a\nworkers: 1\nnode: b\n") ==
          "p.yaml:3:1: node: duplicate key 'node' (first at line 1); the first one is kept");
}

TEST_CASE("bad names, ranges and enums", "[config]") {
    CHECK_THAT(one_error("topology:\n  nodes:\n    \"bad name\": {}\n"),
               Catch::StartsWith("p.yaml:3:5: topology.nodes.bad name: 'bad name' is not a "
                                 "valid name"));
    CHECK(one_error("workers: 0\n") ==
          "p.yaml:1:10: workers: Expected number greater than or equal to 1");
    CHECK_THAT(one_error("rules:\n  min_confidence_without_human: 1.5\n"),
               Catch::StartsWith("p.yaml:2:33: rules.min_confidence_without_human: "));
    CHECK_THAT(one_error("topology:\n  nodes:\n    a:\n      services:\n        x: "
                         "{allowed_actions: [reboot]}\n"),
               Catch::Equals("p.yaml:5:31: topology.nodes.a.services.x.allowed_actions[0]: "
                             "'reboot' is not an action: use notify, ignore, restart or "
                             "redeploy"));
    CHECK_THAT(one_error("redis: http://x\n"), Catch::StartsWith("p.yaml:1:8: redis: "));
}

TEST_CASE("every error is reported, in the file's order", "[config]") {
    const auto errors = errors_of("colour: blue\nworkers: many\ncooldown: soon\n");
    REQUIRE(errors.size() == 3);
    CHECK(errors[0].line == 1);
    CHECK(errors[1].line == 2);
    CHECK(errors[2].line == 3);
}

TEST_CASE("an error echoing the file's text stays one short line", "[config]") {
    CHECK(one_error("workers: \"a\\nb\\u0001\"\n") ==
          "p.yaml:1:10: workers: expected a whole number, found the text 'a\\nb\\x01'");
    const auto long_key = one_error(std::string(5000, 'k') + ": 1\n");
    CHECK(long_key.size() < 700);
    CHECK(long_key.find('\n') == std::string::npos);
}

TEST_CASE("not YAML, not a mapping, several documents", "[config]") {
    CHECK_THAT(one_error("node: [a\n"), Catch::Contains("not valid YAML"));
    CHECK_THAT(one_error("- a\n- b\n"), Catch::Contains("must be a mapping"));
    CHECK_THAT(one_error("node: a\n---\nnode: b\n"), Catch::Contains("only one YAML document"));
    CHECK_THAT(one_error("? [a, b]\n: c\n"), Catch::Contains("a key must be a plain name"));
}

TEST_CASE("hostile texts are refused quickly with one error", "[config]") {
    SECTION("an alias bomb") {
        std::string bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n";
        char prev = 'a';
        for (char c = 'b'; c <= 'k'; ++c) {
            bomb += std::string(1, c) + ": &" + c + " [";
            for (int i = 0; i < 10; ++i) bomb += std::string(i ? ", *" : "*") + prev;
            bomb += "]\n";
            prev = c;
        }
        CHECK_THAT(one_error(bomb), Catch::Contains("alias bomb"));
    }
    SECTION("deep nesting, block and flow") {
        CHECK_THAT(one_error(std::string(100'000, '[') + std::string(100'000, ']')),
                   Catch::Contains("nested deeper than"));
        std::string deep;
        for (int i = 0; i < 200; ++i)
            deep += std::string(static_cast<std::size_t>(i) * 2, ' ') + "k:\n";
        CHECK_THAT(one_error(deep), Catch::Contains("nested deeper than"));
    }
    SECTION("invalid UTF-8, located") {
        CHECK(one_error("node: a\ntopology: \xff\n") == "p.yaml:2:11: not valid UTF-8");
        CHECK_THAT(one_error("node: \xc0\xaf\n"), Catch::Contains("not valid UTF-8"));
    }
    SECTION("a hundred thousand errors: bounded time and output") {
        std::string many = "rules:\n  human_only_nodes: [";
        for (int i = 0; i < 50'000; ++i) many += "\"\",";
        many += "x]\n";
        const auto errors = errors_of(many);
        REQUIRE(errors.size() == 1001);
        CHECK(errors.back().message == "49000 more errors not shown");
        CHECK(errors.front().path == "rules.human_only_nodes[0]");
    }
    SECTION("too large") {
        CHECK_THAT(one_error(std::string(2 * 1024 * 1024, '#')),
                   Catch::Contains("a configuration is at most 1048576"));
    }
}

TEST_CASE("the schema that ships is the one compiled in", "[config]") {
    CHECK(nlohmann::json::parse(read_file(PLANNER_SOURCE_DIR "/docs/planner.schema.json")) ==
          planner::config_schema());
}

TEST_CASE("rules.inhibit_window: a duration, 10m by default, 0 turns it off", "[config][inhibit]") {
    CHECK((planner::HouseRules{}.inhibit_window == std::chrono::minutes{10}));
    const auto r = parse_config("rules:\n  inhibit_window: 90s\n", "p.yaml");
    REQUIRE(r.ok());
    CHECK(r.config().rules->inhibit_window == std::chrono::seconds{90});
    const auto off = parse_config("rules:\n  inhibit_window: 0\n", "p.yaml");
    REQUIRE(off.ok());
    CHECK(off.config().rules->inhibit_window.count() == 0);
    CHECK_THAT(one_error("rules:\n  inhibit_window: soon\n"),
               Catch::StartsWith("p.yaml:2:19: rules.inhibit_window: "));
}
