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

namespace planner::cli {

namespace {

/// One flag: its name, the variable that backs it, and whether it takes a value.
struct FlagSpec {
    std::string_view name;
    std::string_view env;  ///< empty: no variable
    bool takes_value;
    std::string_view value_name;
    std::string_view help;
    std::string_view group = "operation";  ///< --help section: intake, outputs, models, operation
};

constexpr FlagSpec kFlags[] = {
    {"--redis", "REDIS_URL", true, "URL",
     "redis://[[user]:password@]host[:port][/db] or unix:///path/redis.sock\n"
     "(default redis://127.0.0.1:6379/0)",
     "intake"},
    {"--channel", "PLANNER_CHANNELS", true, "NAME",
     "channel to subscribe to; repeatable; the variable is a comma list\n"
     "(default health_events,world_updates)",
     "intake"},
    {"--intake", "PLANNER_INTAKE", true, "KIND",
     "pubsub (SUBSCRIBE; nothing kept while the planner is away) or streams (a consumer\n"
     "group on streams named like the channels: nothing lost, replicas share the work;\n"
     "docs/scaling.md) (default pubsub)",
     "intake"},
    {"--stream-group", "PLANNER_STREAM_GROUP", true, "NAME",
     "consumer group of --intake streams (default planner)", "intake"},
    {"--replay", "", true, "FILE",
     "read events as JSON lines from FILE ('-' for stdin) instead of Redis;\n"
     "each line an event or {\"channel\": ..., \"data\": \"<event JSON>\"}; exits when done",
     "intake"},
    {"--clock", "", true, "KIND",
     "wall (this machine's time) or event (the events' own timestamp/ts fields: cooldowns,\n"
     "budgets, inhibition and silences run as they did then); event needs --replay or\n"
     "--eval (default wall; --eval always uses event)",
     "intake"},
    {"--eval", "", true, "FILE",
     "score the model chain against the labelled incidents in FILE (docs/evals.md), each\n"
     "replayed in event time against a fresh state; exits 1 on any unsafe outcome",
     "models"},
    {"--json", "", false, "", "with --eval: print the scores as one JSON document", "models"},
    {"--actions-dir", "ACTIONS_DIR", true, "DIR",
     "pending-action files (default /var/lib/homelab-planner/actions)", "outputs"},
    {"--events-dir", "EVENTS_DIR", true, "DIR",
     "remediation event files (default /var/lib/homelab-planner/events)", "outputs"},
    {"--state-dir", "PLANNER_STATE_DIR", true, "DIR",
     "approval state, the audit log audit.jsonl\n"
     "(default: the actions directory's parent, /var/lib/homelab-planner)",
     "outputs"},
    {"--proposal-ttl", "PLANNER_PROPOSAL_TTL", true, "DURATION",
     "a proposal nobody decides on expires after this; seconds or 30m, 24h; 0: never\n"
     "(default 24h)"},
    {"--node", "NODE_NAME", true, "NAME", "this planner's node name (default: the host name)"},
    {"--cooldown", "PLANNER_COOLDOWN_SECONDS", true, "SECONDS",
     "one proposal per node/service per period (default 300)"},
    {"--model", "PLANNER_MODELS", true, "SPEC",
     "model chain entry, tried in order; repeatable; the variable is a comma list\n"
     "(default ollama/qwen2.5:7b,rules)",
     "models"},
    {"--openai-key-file", "OPENAI_API_KEY_FILE", true, "FILE",
     "file holding the OpenAI API key; wins over OPENAI_API_KEY", "models"},
    {"--anthropic-key-file", "ANTHROPIC_API_KEY_FILE", true, "FILE",
     "file holding the Anthropic API key; wins over ANTHROPIC_API_KEY", "models"},
    {"--llm-timeout", "PLANNER_LLM_TIMEOUT", true, "SECONDS",
     "time limit of one model attempt (default 60)", "models"},
    {"--workers", "PLANNER_WORKERS", true, "N", "concurrent model requests (default 1)"},
    {"--queue-size", "PLANNER_QUEUE_SIZE", true, "N",
     "events waiting for a worker; more are dropped (default 1024)"},
    {"--stop-grace", "PLANNER_STOP_GRACE", true, "SECONDS",
     "on SIGTERM, time to finish queued work (default 30)"},
    {"--heartbeat", "HEARTBEAT_FILE", true, "FILE",
     "file touched every 10 s while healthy (default: none)", "outputs"},
    {"--healthcheck", "", false, "",
     "exit 0 when the heartbeat file is fresher than --max-age, else 1"},
    {"--max-age", "PLANNER_HEALTHCHECK_MAX_AGE", true, "SECONDS",
     "heartbeat age limit for --healthcheck (default 300)"},
    {"--http-listen", "PLANNER_HTTP_LISTEN", true, "ADDR:PORT",
     "serve /metrics, /healthz, /readyz, the proposals API and the approval page\n"
     "on ADDR:PORT, e.g. 127.0.0.1:8080; port 0 picks a free one (default: off)",
     "outputs"},
    {"--http-token-file", "PLANNER_HTTP_TOKEN_FILE", true, "FILE",
     "file holding the bearer token approve/reject need (default: none, read-only API)", "outputs"},
    {"--dry-run", "", false, "",
     "plan but write nothing; print each proposal as one JSON line on stdout", "outputs"},
    {"--log-level", "PLANNER_LOG_LEVEL", true, "LEVEL", "debug|info|warn|error (default info)",
     "outputs"},
    {"--log-format", "PLANNER_LOG_FORMAT", true, "FORMAT",
     "json (one object per line) or text (default json)", "outputs"},
    {"--config", "PLANNER_CONFIG", true, "FILE",
     "configuration file: topology, house rules, models, settings (docs/configuration.md);\n"
     "flags and variables win over it (default: the built-in examples/planner.yaml)"},
    {"--check-config", "", false, "",
     "validate the configuration; exit 0 with a summary, or 2 with every error"},
    {"--print-config", "", false, "",
     "print the effective configuration as YAML, each value with its source, and exit"},
    {"--version", "", false, "", "print the version and exit"},
    {"--help", "", false, "", "print this help and exit"},
};

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

/// Applies one setting, from a flag or its variable.
void apply(RunOptions& o, std::string_view flag, const std::string& value, bool from_env,
           bool& channels_from_flag, bool& models_from_flag) {
    o.sources[std::string(flag.substr(2))] = from_env ? "variable" : "flag";
    if (flag == "--config") {
        if (value.empty()) throw std::invalid_argument("--config needs a file");
        o.config = value;
    } else if (flag == "--redis") {
        o.redis = parse_redis_url(value);
    } else if (flag == "--channel") {
        auto names = from_env ? split_commas(value) : std::vector<std::string>{value};
        if (names.empty() || value.empty()) {
            throw std::invalid_argument("--channel needs a non-empty name");
        }
        if (!from_env && !channels_from_flag) o.channels.clear();
        if (from_env)
            o.channels = names;
        else
            o.channels.push_back(value);
        channels_from_flag = channels_from_flag || !from_env;
    } else if (flag == "--intake") {
        if (value == "pubsub") {
            o.intake = IntakeKind::pubsub;
        } else if (value == "streams") {
            o.intake = IntakeKind::streams;
        } else {
            throw std::invalid_argument("--intake must be pubsub or streams, got '" + value + "'");
        }
    } else if (flag == "--stream-group") {
        if (value.empty()) throw std::invalid_argument("--stream-group needs a name");
        o.stream_group = value;
    } else if (flag == "--replay") {
        o.replay = value;
    } else if (flag == "--clock") {
        if (value == "wall") {
            o.clock = ClockKind::wall;
        } else if (value == "event") {
            o.clock = ClockKind::event;
        } else {
            throw std::invalid_argument("--clock must be wall or event, got '" + value + "'");
        }
    } else if (flag == "--eval") {
        if (value.empty()) throw std::invalid_argument("--eval needs a file");
        o.eval = value;
    } else if (flag == "--actions-dir") {
        o.actions_dir = value;
    } else if (flag == "--events-dir") {
        o.events_dir = value;
    } else if (flag == "--state-dir") {
        if (value.empty()) throw std::invalid_argument("--state-dir needs a directory");
        o.state_dir = value;
    } else if (flag == "--proposal-ttl") {
        const auto d = parse_duration(value);
        if (!d || d->count() % 1000 != 0) {
            throw std::invalid_argument(fmt::format(
                "--proposal-ttl needs whole seconds (86400) or a duration such as 30m, 24h, "
                "1h30m, got '{}'",
                value));
        }
        o.proposal_ttl = std::chrono::duration_cast<std::chrono::seconds>(*d);
    } else if (flag == "--node") {
        o.node = value;
    } else if (flag == "--cooldown") {
        o.cooldown = parse_seconds(flag, value, /*allow_zero=*/true);
    } else if (flag == "--model") {
        auto specs = from_env ? split_commas(value) : std::vector<std::string>{value};
        // --eval takes one chain per --model, its entries separated by commas, and scripted
        // adversaries (`script:NAME`, docs/evals.md); parse_command_line refuses both elsewhere.
        for (const auto& s : split_commas(value)) {
            if (!s.starts_with("script:")) parse_model_spec(s);  // throws a one-line reason
        }
        if (specs.empty()) throw std::invalid_argument("--model needs a model spec");
        if (!from_env && !models_from_flag) o.models.clear();
        if (from_env)
            o.models = specs;
        else
            o.models.push_back(value);
        models_from_flag = models_from_flag || !from_env;
    } else if (flag == "--openai-key-file") {
        o.openai_key_file = value;
    } else if (flag == "--anthropic-key-file") {
        o.anthropic_key_file = value;
    } else if (flag == "--llm-timeout") {
        o.llm_timeout = parse_seconds(flag, value, /*allow_zero=*/false);
    } else if (flag == "--workers") {
        o.workers = parse_count(flag, value, 64);
    } else if (flag == "--queue-size") {
        o.queue_size = parse_count(flag, value, 1'000'000);
    } else if (flag == "--stop-grace") {
        o.stop_grace = parse_seconds(flag, value, /*allow_zero=*/true);
    } else if (flag == "--heartbeat") {
        o.heartbeat = value;
    } else if (flag == "--http-listen") {
        o.http_listen = parse_listen_address(value);
    } else if (flag == "--http-token-file") {
        if (value.empty()) throw std::invalid_argument("--http-token-file needs a file");
        o.http_token_file = value;
    } else if (flag == "--max-age") {
        o.max_age = parse_seconds(flag, value, /*allow_zero=*/false);
    } else if (flag == "--log-level") {
        const auto level = parse_log_level(value);
        if (!level) {
            throw std::invalid_argument("--log-level must be debug, info, warn or error, got '" +
                                        value + "'");
        }
        o.log_level = *level;
    } else if (flag == "--log-format") {
        if (value == "json") {
            o.log_format = LogFormat::json;
        } else if (value == "text") {
            o.log_format = LogFormat::text;
        } else {
            throw std::invalid_argument("--log-format must be json or text, got '" + value + "'");
        }
    }
}

/// The flags of kFlags as CLI11 options, in --help's groups. CLI11 splits the command line
/// (`--flag value`, `--flag=value`, a missing value) and renders --help; apply() checks each
/// value, so a flag and its variable are checked by the same code.
struct Cli {
    std::unique_ptr<CLI::App> app;
    std::vector<CLI::Option*> options;  ///< kFlags[i] is options[i]
};

constexpr std::size_t kHelpColumn = 30;

Cli make_app() {
    Cli cli;
    cli.app = std::make_unique<CLI::App>(
        "Turns homelab health events from Redis into pending-action files a human approves.\n"
        "A variable in brackets is used when its flag is absent, then the configuration file,\n"
        "then the built-in default.",
        "planner-run");
    CLI::App& app = *cli.app;
    app.set_help_flag();  // --help is a flag of the table, so it can win over the others
    app.allow_extras();   // reported by parse_command_line as one line naming the argument
    app.get_formatter()->column_width(kHelpColumn);
    app.get_formatter()->label("OPTIONS", "options");
    cli.options.resize(std::size(kFlags));
    // Declared group by group, so --help lists intake, outputs, models, then operation.
    for (const std::string_view group : {"intake", "outputs", "models", "operation"}) {
        for (std::size_t i = 0; i < std::size(kFlags); ++i) {
            const FlagSpec& f = kFlags[i];
            if (f.group != group) continue;
            std::string help = f.env.empty() ? "" : "[" + std::string(f.env) + "] ";
            help += f.help;
            CLI::Option* opt = nullptr;
            if (f.takes_value) {
                opt = app.add_option(std::string(f.name))
                          ->description(help)
                          ->type_name(std::string(f.value_name))
                          ->expected(1)
                          ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
            } else {
                opt = app.add_flag(std::string(f.name))->description(help)->disable_flag_override();
            }
            opt->group(std::string(group));
            cli.options[i] = opt;
        }
    }
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
std::string parse_error_text(const CLI::ParseError& e) {
    const std::string what = e.what();
    for (const auto& f : kFlags) {
        const std::string bare(f.name.substr(2));
        if (what.starts_with(std::string(f.name) + ":") || what.starts_with(bare + " ")) {
            return fmt::format("{} {}", f.name, f.takes_value ? "needs a value" : "takes no value");
        }
    }
    std::string line = what;
    std::replace(line.begin(), line.end(), '\n', ' ');
    return line;
}

}  // namespace

std::optional<std::string> process_env(std::string_view name) {
    const char* v = std::getenv(std::string(name).c_str());
    if (v == nullptr) return std::nullopt;
    return std::string(v);
}

ParsedCommand parse_command_line(const std::vector<std::string>& args, const EnvLookup& env) {
    ParsedCommand parsed;
    RunOptions& o = parsed.options;
    bool channels_from_flag = false;
    bool models_from_flag = false;
    std::string current;  // the flag or variable being read, to name it in an error
    try {
        // Variables first, so that flags override them. Read here rather than by CLI11's
        // envname(), which would call getenv: tests inject the environment instead.
        for (const auto& f : kFlags) {
            if (f.env.empty()) continue;
            current = std::string(f.env);
            if (auto value = env(f.env); value && !value->empty()) {
                apply(o, f.name, *value, /*from_env=*/true, channels_from_flag, models_from_flag);
            }
        }
        current.clear();
        auto cli = make_app();
        std::vector<std::string> reversed(args.rbegin(), args.rend());  // CLI11 pops the back
        try {
            cli.app->parse(reversed);
        } catch (const CLI::ParseError& e) {
            throw std::invalid_argument(parse_error_text(e));
        }
        // remaining() returns a new vector: keep it, the view below points into it.
        if (const auto rest = cli.app->remaining(); !rest.empty()) {
            std::string_view unknown = rest.front();
            if (unknown.starts_with("--")) unknown = unknown.substr(0, unknown.find('='));
            throw std::invalid_argument(fmt::format("unknown argument '{}' (see --help)", unknown));
        }
        // In table order; a repeated flag applies each value in turn (the last wins, or, for
        // --channel and --model, they add up).
        for (std::size_t i = 0; i < std::size(kFlags); ++i) {
            const FlagSpec& f = kFlags[i];
            const CLI::Option* opt = cli.options[i];
            if (opt->count() == 0) continue;
            current = std::string(f.name);
            if (!f.takes_value) {
                if (f.name == "--dry-run") o.dry_run = true;
                if (f.name == "--json") o.json = true;
                continue;
            }
            for (const auto& value : opt->results()) {
                apply(o, f.name, value, /*from_env=*/false, channels_from_flag, models_from_flag);
            }
        }
        const auto given = [&](std::string_view name) {
            for (std::size_t i = 0; i < std::size(kFlags); ++i) {
                if (kFlags[i].name == name) return cli.options[i]->count() > 0;
            }
            return false;
        };
        // --help wins over everything, then --version, then the commands that do one thing.
        if (given("--help")) {
            parsed.command = Command::help;
        } else if (given("--version")) {
            parsed.command = Command::version;
        } else if (given("--healthcheck")) {
            parsed.command = Command::healthcheck;
        } else if (given("--check-config")) {
            parsed.command = Command::check_config;
        } else if (given("--print-config")) {
            parsed.command = Command::print_config;
        } else if (o.eval) {
            parsed.command = Command::eval;
        }
        if (parsed.command == Command::help || parsed.command == Command::version) return parsed;
        current.clear();
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
        if (!current.empty() && !parsed.error.starts_with(current)) {
            parsed.error = current + ": " + parsed.error;
        }
    }
    return parsed;
}

std::string read_key_file(const std::filesystem::path& path) {
    constexpr std::size_t kMaxKeyBytes = 64 * 1024;
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        throw std::runtime_error(
            fmt::format("cannot read key file {}: {}", path.string(), std::strerror(errno)));
    }
    std::string key;
    char buf[4096];
    for (;;) {
        const ssize_t n = ::read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            const int saved = errno;
            ::close(fd);
            throw std::runtime_error(
                fmt::format("cannot read key file {}: {}", path.string(), std::strerror(saved)));
        }
        if (n == 0) break;
        key.append(buf, static_cast<std::size_t>(n));
        if (key.size() > kMaxKeyBytes) {
            ::close(fd);
            throw std::runtime_error(
                fmt::format("key file {} is larger than {} bytes", path.string(), kMaxKeyBytes));
        }
    }
    ::close(fd);
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
    return make_app().app->help();
}

}  // namespace planner::cli
