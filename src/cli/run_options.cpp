#include "run_options.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <iterator>
#include <limits>
#include <memory>
#include <stdexcept>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include <planner/chain_router.hpp>

#include "file_io.hpp"
#include "program_options.hpp"

namespace planner::cli {

namespace {

std::vector<std::string> split_commas(std::string_view text) {
    std::vector<std::string> out;
    std::size_t start = 0;
    while (start <= text.size()) {
        const auto comma = text.find(',', start);
        const auto end = comma == std::string_view::npos ? text.size() : comma;
        auto item = text.substr(start, end - start);
        while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
        while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
        if (!item.empty()) out.emplace_back(item);
        if (comma == std::string_view::npos) break;
        start = comma + 1;
    }
    return out;
}

/// Seconds as a positive (or, with allow_zero, non-negative) decimal, e.g. "300" or "0.5".
std::chrono::milliseconds parse_seconds(std::string_view flag, const std::string& text,
                                        bool allow_zero) {
    char* end = nullptr;
    const double v = std::strtod(text.c_str(), &end);
    if (text.empty() || end != text.c_str() + text.size() || !std::isfinite(v) || v < 0 ||
        (v == 0 && !allow_zero) || v > 31'536'000.0) {
        throw std::invalid_argument(fmt::format("{} needs a number of seconds{}, got '{}'", flag,
                                                allow_zero ? "" : " above 0", text));
    }
    return std::chrono::milliseconds{static_cast<long long>(std::llround(v * 1000.0))};
}

std::size_t parse_count(std::string_view flag, const std::string& text, std::size_t max) {
    std::size_t v = 0;
    const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (text.empty() || ec != std::errc{} || ptr != text.data() + text.size() || v == 0 ||
        v > max) {
        throw std::invalid_argument(
            fmt::format("{} needs a whole number from 1 to {}, got '{}'", flag, max, text));
    }
    return v;
}

std::string host_name() {
    char buf[256] = {};
    if (::gethostname(buf, sizeof buf - 1) != 0 || buf[0] == '\0') return "planner";
    return buf;
}

/// What parse_command_line keeps while CLI11 calls the options' checks: the options being
/// filled, whether the value came from a variable (a comma list for --channel and --model),
/// and the flag or variable being read, to name it in an error.
struct ParseState {
    explicit ParseState(RunOptions& options) : o(options) {}
    RunOptions& o;
    bool from_env = false;
    bool channels_from_flag = false;
    bool models_from_flag = false;
    std::string current;
};

/// One option's row of docs/running.md: beside its help, the longer text the docs give.
struct DocRow {
    std::string_view variable_note;  ///< after the variable, e.g. "(comma list)"
    std::string_view default_text;   ///< markdown; empty: none shown
    std::string_view meaning;        ///< markdown
};

/// Shows `[VARIABLE]` before an option's help, as this program always did, rather than CLI11's
/// `(Env:VARIABLE)` after its value name; the variable comes from the option's envname().
class HelpFormatter : public CLI::Formatter {
  public:
    std::string make_option_opts(const CLI::Option* opt) const override {
        return opt->get_expected_min() > 0 ? " " + opt->get_type_name() : "";
    }
    std::string make_option_desc(const CLI::Option* opt) const override {
        const std::string env = opt->get_envname();
        return (env.empty() ? "" : "[" + env + "] ") + opt->get_description();
    }
};

/// planner-run's options, each declared once: name, value name, variable, group, help, the
/// docs' row, and the check that parses the value into RunOptions (it throws a one-line
/// std::invalid_argument, which CLI11 lets through to parse_command_line).
struct Cli {
    std::unique_ptr<CLI::App> app;
    std::vector<std::pair<const CLI::Option*, DocRow>> rows;  ///< declaration order
};

constexpr std::size_t kHelpColumn = 30;

class Declare {
  public:
    Declare(Cli& cli, ParseState& st) : cli_(cli), st_(st) {}

    void group(std::string name) { group_ = std::move(name); }

    /// An option with one value per occurrence; `apply` checks it and stores it.
    CLI::Option* value(const std::string& name, const std::string& value_name,
                       const std::string& env, const std::string& help, DocRow doc,
                       std::function<void(const std::string&)> apply) {
        ParseState& st = st_;
        CLI::Option* opt = cli_.app->add_option(name)
                               ->description(help)
                               ->type_name(value_name)
                               ->expected(1)
                               ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll)
                               ->group(group_)
                               ->each([&st, name, apply = std::move(apply)](const std::string& v) {
                                   if (!st.from_env) st.current = name;
                                   st.o.sources[name.substr(2)] = st.from_env ? "variable" : "flag";
                                   apply(v);
                               });
        if (!env.empty()) opt->envname(env);
        cli_.rows.emplace_back(opt, doc);
        return opt;
    }

    /// A switch; parse_command_line reads whether it was given.
    CLI::Option* flag(const std::string& name, const std::string& help, DocRow doc) {
        CLI::Option* opt =
            cli_.app->add_flag(name)->description(help)->disable_flag_override()->group(group_);
        cli_.rows.emplace_back(opt, doc);
        return opt;
    }

  private:
    Cli& cli_;
    ParseState& st_;
    std::string group_;
};

/// A pair of word choices, e.g. pubsub|streams, as one check.
template <typename E>
E choice(std::string_view flag, const std::string& value,
         std::initializer_list<std::pair<std::string_view, E>> choices, std::string_view words) {
    for (const auto& [word, e] : choices) {
        if (value == word) return e;
    }
    throw std::invalid_argument(fmt::format("{} must be {}, got '{}'", flag, words, value));
}

Cli make_app(ParseState& st) {
    Cli cli;
    cli.app = std::make_unique<CLI::App>(
        "Turns homelab health events from Redis into pending-action files a human approves.\n"
        "A variable in brackets is used when its flag is absent, then the configuration file\n"
        "(--config, else /etc/homelab-planner/planner.yaml if it exists), then the built-in\n"
        "default.",
        "planner-run");
    CLI::App& app = *cli.app;
    app.set_help_flag();  // --help is declared below, so it can win over the others
    app.allow_extras();   // reported by parse_command_line as one line naming the argument
    app.formatter(std::make_shared<HelpFormatter>());
    app.get_formatter()->column_width(kHelpColumn);
    app.get_formatter()->label("OPTIONS", "options");
    RunOptions& o = st.o;
    Declare d(cli, st);

    d.group("intake");
    d.value("--redis", "URL", "REDIS_URL",
            "redis://[[user]:password@]host[:port][/db] or unix:///path/redis.sock\n"
            "(default redis://127.0.0.1:6379/0)",
            {"", "`redis://127.0.0.1:6379/0`",
             "`redis://[[user]:password@]host[:port][/db]` or `unix:///path/redis.sock`; AUTH "
             "(password or ACL user) and SELECT are done on every (re)connect. Only the redacted "
             "form (`***` for the password) is ever logged."},
            [&o](const std::string& v) { o.redis = parse_redis_url(v); });
    d.value("--channel", "NAME", "PLANNER_CHANNELS",
            "channel to subscribe to; repeatable; the variable is a comma list\n"
            "(default health_events,world_updates)",
            {"(comma list)", "`health_events,world_updates`",
             "channels to SUBSCRIBE to; repeat the flag for several"},
            [&st](const std::string& value) {
                auto names = st.from_env ? split_commas(value) : std::vector<std::string>{value};
                if (names.empty() || value.empty()) {
                    throw std::invalid_argument("--channel needs a non-empty name");
                }
                if (st.from_env) {
                    st.o.channels = names;
                    return;
                }
                if (!st.channels_from_flag) st.o.channels.clear();
                st.o.channels.push_back(value);
                st.channels_from_flag = true;
            });
    d.value("--intake", "KIND", "PLANNER_INTAKE",
            "pubsub (SUBSCRIBE; nothing kept while the planner is away) or streams (a consumer\n"
            "group on streams named like the channels: nothing lost, replicas share the work;\n"
            "docs/scaling.md) (default pubsub)",
            {"", "`pubsub`",
             "`pubsub`: SUBSCRIBE to the channels (nothing is kept while the planner is away); "
             "`streams`: read streams named like the channels in a consumer group, acknowledging "
             "each entry once it is handled, so nothing is lost and several planners share the "
             "work ([scaling.md](scaling.md))"},
            [&o](const std::string& v) {
                o.intake = choice<IntakeKind>(
                    "--intake", v,
                    {{"pubsub", IntakeKind::pubsub}, {"streams", IntakeKind::streams}},
                    "pubsub or streams");
            });
    d.value("--stream-group", "NAME", "PLANNER_STREAM_GROUP",
            "consumer group of --intake streams (default planner)",
            {"", "`planner`",
             "the consumer group of `--intake streams`; each process is consumer `<node>-<pid>`"},
            [&o](const std::string& v) {
                if (v.empty()) throw std::invalid_argument("--stream-group needs a name");
                o.stream_group = v;
            });
    d.value("--replay", "FILE", "",
            "read events as JSON lines from FILE ('-' for stdin) instead of Redis;\n"
            "each line an event or {\"channel\": ..., \"data\": \"<event JSON>\"}; exits when done",
            {"", "",
             "read events as JSON lines from FILE (`-`: stdin) instead of Redis; each line an "
             "event object or `{\"channel\": ..., \"data\": \"<event JSON as a string>\"}`; blank "
             "lines and lines starting with `#` are skipped; exits 0 once the last event is "
             "planned"},
            [&o](const std::string& v) { o.replay = v; });
    d.value("--clock", "KIND", "",
            "wall (this machine's time) or event (the events' own timestamp/ts fields: cooldowns,\n"
            "budgets, inhibition and silences run as they did then); event needs --replay or\n"
            "--eval (default wall; --eval always uses event)",
            {"", "`wall`",
             "`wall`: cooldowns, budgets, inhibition windows, silences and proposal expiry run on "
             "this machine's clocks; `event`: on each event's own `timestamp` (or `ts`) field, so "
             "a recorded day replays in seconds and behaves as it did that day. An event without a "
             "readable time, or older than the last one, keeps the last time and logs one "
             "`event_time_kept` warning. Unanswered proposals are marked `expired` on disk every "
             "60 s of event time, as the sweeper does in real time. Only with `--replay` or "
             "`--eval` (exit 2 otherwise)"},
            [&o](const std::string& v) {
                o.clock = choice<ClockKind>(
                    "--clock", v, {{"wall", ClockKind::wall}, {"event", ClockKind::event}},
                    "wall or event");
            });

    d.group("outputs");
    d.value("--actions-dir", "DIR", "ACTIONS_DIR",
            "pending-action files (default /var/lib/homelab-planner/actions)",
            {"", "`/var/lib/homelab-planner/actions`", "pending-action files (`<action_id>.json`)"},
            [&o](const std::string& v) { o.actions_dir = v; });
    d.value("--events-dir", "DIR", "EVENTS_DIR",
            "remediation event files (default: the state directory's events/,\n"
            "/var/lib/homelab-planner/events)",
            {"", "the state directory's `events/` (`/var/lib/homelab-planner/events`)",
             "`remediation_started` events (`<YYYY-MM-DD>/<node>/<time>-<type>-<id>.json`)"},
            [&o](const std::string& v) { o.events_dir = v; });
    d.value("--state-dir", "DIR", "PLANNER_STATE_DIR",
            "approval state, the audit log audit.jsonl\n"
            "(default: the actions directory's parent, /var/lib/homelab-planner)",
            {"", "the actions directory's parent (`/var/lib/homelab-planner`)",
             "approval state: `audit.jsonl`, shared with planner-ctl"},
            [&o](const std::string& v) {
                if (v.empty()) throw std::invalid_argument("--state-dir needs a directory");
                o.state_dir = v;
            });
    d.value("--heartbeat", "FILE", "HEARTBEAT_FILE",
            "file touched every 10 s while healthy (default: none)",
            {"", "none", "touched every 10 s while healthy (see below)"},
            [&o](const std::string& v) { o.heartbeat = v; });
    d.value("--http-listen", "ADDR:PORT", "PLANNER_HTTP_LISTEN",
            "serve /metrics, /healthz, /readyz, the proposals API and the approval page\n"
            "on ADDR:PORT, e.g. 127.0.0.1:8080; port 0 picks a free one (default: off)",
            {"", "off",
             "serve `/metrics`, `/healthz`, `/readyz`, the proposals API and the approval page "
             "([http-api.md](http-api.md)); port `0` picks a free one, logged in "
             "`http_listening`"},
            [&o](const std::string& v) { o.http_listen = parse_listen_address(v); });
    d.value(
        "--http-token-file", "FILE", "PLANNER_HTTP_TOKEN_FILE",
        "file holding the bearer token approve/reject need (default: none, read-only API)",
        {"", "none", "the bearer token approve and reject need; without it the API is read-only"},
        [&o](const std::string& v) {
            if (v.empty()) throw std::invalid_argument("--http-token-file needs a file");
            o.http_token_file = v;
        });
    d.flag("--dry-run", "plan but write nothing; print each proposal as one JSON line on stdout",
           {"", "",
            "plan but write nothing (no files, no heartbeat); print each proposal as one JSON "
            "line on stdout"});
    d.value("--log-level", "LEVEL", "PLANNER_LOG_LEVEL", "debug|info|warn|error (default info)",
            {"", "`info`", "`debug`, `info`, `warn` or `error`"}, [&o](const std::string& v) {
                const auto level = parse_log_level(v);
                if (!level) {
                    throw std::invalid_argument(
                        "--log-level must be debug, info, warn or error, got '" + v + "'");
                }
                o.log_level = *level;
            });
    d.value("--log-format", "FORMAT", "PLANNER_LOG_FORMAT",
            "json (one object per line) or text (default json)",
            {"", "`json`", "`json` (one object per line) or `text`"}, [&o](const std::string& v) {
                o.log_format = choice<LogFormat>(
                    "--log-format", v, {{"json", LogFormat::json}, {"text", LogFormat::text}},
                    "json or text");
            });

    d.group("models");
    d.value("--eval", "FILE", "",
            "score the model chain against the labelled incidents in FILE (docs/evals.md), each\n"
            "replayed in event time against a fresh state; exits 1 on any unsafe outcome",
            {"", "",
             "score the model chain against labelled incidents ([evals.md](evals.md)): each "
             "incident replayed in event time against fresh directories and a fresh agent; prints "
             "a table per chain (passed, unsafe, unnecessary human escalations, model calls, "
             "median and p95 latency) and exits 1 on any unsafe outcome. With `--eval`, each "
             "`--model` is one chain (entries separated by commas, e.g. `--model "
             "ollama/qwen2.5:7b,rules`) and may name a scripted adversary `script:restart-max`, "
             "`script:other-target` or `script:garbage`"},
            [&o](const std::string& v) {
                if (v.empty()) throw std::invalid_argument("--eval needs a file");
                o.eval = v;
            });
    d.flag("--json", "with --eval: print the scores as one JSON document",
           {"", "", "with `--eval`: the scores as one JSON document"});
    d.value("--model", "SPEC", "PLANNER_MODELS",
            "model chain entry, tried in order; repeatable; the variable is a comma list\n"
            "(default ollama/qwen2.5:7b,rules)",
            {"(comma list)", "`ollama/qwen2.5:7b,rules`",
             "the model chain, tried in order (see [routing.md](routing.md)); repeat the flag for "
             "several"},
            [&st](const std::string& value) {
                auto specs = st.from_env ? split_commas(value) : std::vector<std::string>{value};
                // --eval takes one chain per --model, its entries separated by commas, and
                // scripted adversaries (`script:NAME`, docs/evals.md); parse_command_line
                // refuses both elsewhere.
                for (const auto& s : split_commas(value)) {
                    if (!s.starts_with("script:")) parse_model_spec(s);  // a one-line reason
                }
                if (specs.empty()) throw std::invalid_argument("--model needs a model spec");
                if (st.from_env) {
                    st.o.models = specs;
                    return;
                }
                if (!st.models_from_flag) st.o.models.clear();
                st.o.models.push_back(value);
                st.models_from_flag = true;
            });
    d.value("--openai-key-file", "FILE", "OPENAI_API_KEY_FILE",
            "file holding the OpenAI API key; wins over OPENAI_API_KEY",
            {"", "none",
             "read the OpenAI key from FILE (one trailing newline removed); wins over "
             "`OPENAI_API_KEY`"},
            [&o](const std::string& v) { o.openai_key_file = v; });
    d.value("--anthropic-key-file", "FILE", "ANTHROPIC_API_KEY_FILE",
            "file holding the Anthropic API key; wins over ANTHROPIC_API_KEY",
            {"", "none", "read the Anthropic key from FILE; wins over `ANTHROPIC_API_KEY`"},
            [&o](const std::string& v) { o.anthropic_key_file = v; });
    d.value("--llm-timeout", "SECONDS", "PLANNER_LLM_TIMEOUT",
            "time limit of one model attempt (default 60)",
            {"", "`60`",
             "time limit of one attempt at one model, connect included; a timed-out attempt is "
             "not retried on the same model, so a hung server costs one timeout per event before "
             "the chain moves on"},
            [&o](const std::string& v) {
                o.llm_timeout = parse_seconds("--llm-timeout", v, /*allow_zero=*/false);
            });

    d.group("operation");
    d.value("--proposal-ttl", "DURATION", "PLANNER_PROPOSAL_TTL",
            "a proposal nobody decides on expires after this; seconds or 30m, 24h; 0: never\n"
            "(default 24h)",
            {"", "`24h`",
             "a proposal nobody decides on expires after this; seconds (`86400`) or `30m`, `24h`, "
             "`1h30m`; `0`: never"},
            [&o](const std::string& v) {
                const auto dur = parse_duration(v);
                if (!dur || dur->count() % 1000 != 0) {
                    throw std::invalid_argument(fmt::format(
                        "--proposal-ttl needs whole seconds (86400) or a duration such as 30m, "
                        "24h, 1h30m, got '{}'",
                        v));
                }
                o.proposal_ttl = std::chrono::duration_cast<std::chrono::seconds>(*dur);
            });
    d.value("--node", "NAME", "NODE_NAME", "this planner's node name (default: the host name)",
            {"", "the host name", "this planner's node: the `node` of the events it writes"},
            [&o](const std::string& v) { o.node = v; });
    d.value("--cooldown", "SECONDS", "PLANNER_COOLDOWN_SECONDS",
            "one proposal per node/service per period (default 300)",
            {"", "`300`", "one proposal per `node/service` per period; `0` turns it off"},
            [&o](const std::string& v) {
                o.cooldown = parse_seconds("--cooldown", v, /*allow_zero=*/true);
            });
    d.value("--workers", "N", "PLANNER_WORKERS", "concurrent model requests (default 1)",
            {"", "`1`", "concurrent model requests; a home GPU serves one at a time"},
            [&o](const std::string& v) { o.workers = parse_count("--workers", v, 64); });
    d.value(
        "--queue-size", "N", "PLANNER_QUEUE_SIZE",
        "events waiting for a worker; more are dropped (default 1024)",
        {"", "`1024`",
         "events waiting for a worker; when full, new services are dropped (counted, warned)"},
        [&o](const std::string& v) { o.queue_size = parse_count("--queue-size", v, 1'000'000); });
    d.value("--stop-grace", "SECONDS", "PLANNER_STOP_GRACE",
            "on SIGTERM, time to finish queued work (default 30)",
            {"", "`30`", "on SIGTERM, how long queued work may finish"},
            [&o](const std::string& v) {
                o.stop_grace = parse_seconds("--stop-grace", v, /*allow_zero=*/true);
            });
    d.flag("--healthcheck", "exit 0 when the heartbeat file is fresher than --max-age, else 1",
           {"", "", "exit 0 when the heartbeat file is younger than `--max-age`, else 1"});
    d.value("--max-age", "SECONDS", "PLANNER_HEALTHCHECK_MAX_AGE",
            "heartbeat age limit for --healthcheck (default 300)",
            {"", "`300`", "heartbeat age limit for `--healthcheck`"}, [&o](const std::string& v) {
                o.max_age = parse_seconds("--max-age", v, /*allow_zero=*/false);
            });
    d.value("--config", "FILE", "PLANNER_CONFIG",
            "configuration file: topology, house rules, models, settings (docs/configuration.md);\n"
            "flags and variables win over it (default: /etc/homelab-planner/planner.yaml if it\n"
            "exists, else the built-in examples/planner.yaml)",
            {"",
             "`/etc/homelab-planner/planner.yaml` if it exists, else the built-in "
             "`examples/planner.yaml`",
             "the configuration file: topology, house rules, models, settings "
             "([configuration.md](configuration.md)); SIGHUP reloads it"},
            [&o](const std::string& v) {
                if (v.empty()) throw std::invalid_argument("--config needs a file");
                o.config = v;
            });
    d.flag("--check-config",
           "validate the configuration; exit 0 with a summary, or 2 with every error",
           {"", "",
            "validate the configuration; exit 0 with a summary line, or 2 with every error as "
            "`FILE:LINE:COL: key.path: message`"});
    d.flag("--print-config",
           "print the effective configuration as YAML, each value with its source, and exit",
           {"", "",
            "print the effective configuration as YAML, each setting with its source (flag, "
            "variable, file, default), secrets redacted; exit 0"});
    d.flag("--version", "print the version and exit", {"", "", "print the version and exit 0"});
    d.flag("--help", "print this help and exit", {"", "", "print this help and exit 0"});
    // Hidden, and not in the table it prints: for whoever updates docs/running.md.
    app.add_flag("--help-flags-markdown")->group("");

    app.footer(
        "Providers read OLLAMA_HOST, OPENAI_BASE_URL, OPENAI_API_KEY, ANTHROPIC_BASE_URL and\n"
        "ANTHROPIC_API_KEY (a --*-key-file wins over its variable). Model specs: ollama/<model>,\n"
        "openai/<model>, anthropic/<model> or rules, each optionally followed by @<base-url>.\n"
        "SIGHUP reloads the configuration file: topology, house rules, cooldown, node name and\n"
        "the model chain change at once; Redis, channels, directories, workers, notify targets\n"
        "and the proposal TTL need a restart and are reported. Exit status: 0 after a clean stop\n"
        "(SIGINT/SIGTERM, or the end of --replay), 2 for bad options, an invalid configuration\n"
        "or unusable directories, 1 for --healthcheck with a stale heartbeat.");
    return cli;
}

/// CLI11's parse errors in this program's words: one line that names the flag.
std::string parse_error_text(const CLI::App& app, const CLI::ParseError& e) {
    const std::string what = e.what();
    for (const CLI::Option* opt : app.get_options()) {
        const std::string name = opt->get_name(false, false);
        if (!name.starts_with("--")) continue;
        const std::string bare = name.substr(2);
        if (what.starts_with(name + ":") || what.starts_with(bare + " ")) {
            return fmt::format("{} {}", name,
                               opt->get_expected_min() > 0 ? "needs a value" : "takes no value");
        }
    }
    std::string line = what;
    std::replace(line.begin(), line.end(), '\n', ' ');
    return line;
}

}  // namespace

std::optional<std::string> process_env(std::string_view name) {
    return programs::process_env(name);
}

ParsedCommand parse_command_line(const std::vector<std::string>& args, const EnvLookup& env) {
    return parse_command_line(args, env, std::filesystem::path(programs::kDefaultConfigFile));
}

ParsedCommand parse_command_line(const std::vector<std::string>& args, const EnvLookup& env,
                                 const std::filesystem::path& default_config) {
    ParsedCommand parsed;
    RunOptions& o = parsed.options;
    ParseState st{o};
    try {
        auto cli = make_app(st);
        // Variables are read through `env` after the flags, not by CLI11 (getenv).
        const auto variables = programs::detach_variables(*cli.app);
        std::vector<std::string> reversed(args.rbegin(), args.rend());  // CLI11 pops the back
        try {
            cli.app->parse(reversed);
        } catch (const CLI::ParseError& e) {
            throw std::invalid_argument(parse_error_text(*cli.app, e));
        }
        st.current.clear();
        // remaining() returns a new vector: keep it, the view below points into it.
        if (const auto rest = cli.app->remaining(); !rest.empty()) {
            std::string_view unknown = rest.front();
            if (unknown.starts_with("--")) unknown = unknown.substr(0, unknown.find('='));
            throw std::invalid_argument(fmt::format("unknown argument '{}' (see --help)", unknown));
        }
        const auto given = [&](const std::string& name) { return cli.app->count(name) > 0; };
        // --help wins over everything, then --version, then the commands that do one thing.
        if (given("--help")) {
            parsed.command = Command::help;
            return parsed;
        }
        if (given("--version")) {
            parsed.command = Command::version;
            return parsed;
        }
        if (given("--help-flags-markdown")) {
            parsed.command = Command::flags_markdown;
            return parsed;
        }
        programs::apply_variables(variables, env, o.sources,
                                  [&st](CLI::Option*, const std::string& variable) {
                                      st.from_env = true;
                                      st.current = variable;
                                  });
        st.from_env = false;
        st.current.clear();
        o.dry_run = given("--dry-run");
        o.json = given("--json");
        if (given("--healthcheck")) {
            parsed.command = Command::healthcheck;
        } else if (given("--check-config")) {
            parsed.command = Command::check_config;
        } else if (given("--print-config")) {
            parsed.command = Command::print_config;
        } else if (o.eval) {
            parsed.command = Command::eval;
        }
        if (!o.config) {
            o.config = programs::choose_config_file(std::nullopt, default_config);
            if (o.config) o.sources["config"] = "default";
        }
        if (o.node.empty()) o.node = host_name();
        if (parsed.command == Command::healthcheck && o.heartbeat.empty()) {
            throw std::invalid_argument("--healthcheck needs --heartbeat FILE or HEARTBEAT_FILE");
        }
        if (o.replay && o.replay->empty()) throw std::invalid_argument("--replay needs a file");
        if (o.eval && o.replay) {
            throw std::invalid_argument("--eval and --replay cannot be combined");
        }
        if (o.clock == ClockKind::event && !o.replay && !o.eval) {
            throw std::invalid_argument(
                "--clock event needs --replay FILE or --eval FILE: live events are planned at "
                "the time they arrive");
        }
        if (o.json && !o.eval) throw std::invalid_argument("--json needs --eval FILE");
        for (const auto& m : o.models) {
            if (o.eval) break;
            if (m.find("script:") != std::string::npos) {
                throw std::invalid_argument("--model " + m +
                                            ": scripted models exist only for --eval FILE");
            }
            if (m.find(',') != std::string::npos) {
                throw std::invalid_argument("--model " + m +
                                            ": one spec per --model (a comma list is the "
                                            "variable's form, or one --eval chain)");
            }
        }
    } catch (const std::exception& e) {
        parsed.command = Command::error;
        // parse_redis_url never echoes the password; model specs carry no secrets.
        parsed.error = e.what();
        if (!st.current.empty() && !parsed.error.starts_with(st.current)) {
            parsed.error = st.current + ": " + parsed.error;
        }
    }
    return parsed;
}

std::string flags_markdown() {
    RunOptions scratch;
    ParseState st{scratch};
    const Cli cli = make_app(st);
    std::string out =
        "| Flag | Variable | Default | Meaning |\n|------|----------|---------|---------|\n";
    for (const auto& [opt, doc] : cli.rows) {
        std::string flag = opt->get_name(false, false);
        if (opt->get_expected_min() > 0) flag += " " + opt->get_type_name();
        std::string variable;
        if (!opt->get_envname().empty()) {
            variable = "`" + opt->get_envname() + "`";
            if (!doc.variable_note.empty()) variable += " " + std::string(doc.variable_note);
        }
        out +=
            fmt::format("| `{}` | {} | {} | {} |\n", flag, variable, doc.default_text, doc.meaning);
    }
    return out;
}

std::string read_key_file(const std::filesystem::path& path) {
    constexpr std::size_t kMaxKeyBytes = 64 * 1024;
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        throw std::runtime_error(
            fmt::format("cannot read key file {}: {}", path.string(), std::strerror(errno)));
    }
    auto read = planner::detail::read_bounded(fd, kMaxKeyBytes);
    ::close(fd);
    if (read.error != 0) {
        throw std::runtime_error(
            fmt::format("cannot read key file {}: {}", path.string(), std::strerror(read.error)));
    }
    if (read.too_large) {
        throw std::runtime_error(
            fmt::format("key file {} is larger than {} bytes", path.string(), kMaxKeyBytes));
    }
    std::string key = std::move(read.text);
    if (!key.empty() && key.back() == '\n') key.pop_back();
    if (!key.empty() && key.back() == '\r') key.pop_back();
    if (key.empty()) throw std::runtime_error(fmt::format("key file {} is empty", path.string()));
    for (const char c : key) {
        const auto u = static_cast<unsigned char>(c);
        if (u < 0x20 || u == 0x7F) {
            // Not echoed: the bytes around it are the key.
            throw std::runtime_error(fmt::format(
                "key file {} holds control characters (more than one line?)", path.string()));
        }
    }
    return key;
}

std::string usage() {
    RunOptions scratch;
    ParseState st{scratch};
    return make_app(st).app->help();
}

}  // namespace planner::cli
