#include "ctl.hpp"

#include <algorithm>

#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <map>
#include <optional>
#include <set>
#include <stdexcept>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include <planner/action_store.hpp>
#include <planner/config.hpp>
#include <planner/detail/time.hpp>
#include <planner/file_action_store.hpp>
#include <planner/file_sinks.hpp>
#include <planner/redis_silences.hpp>
#include <planner/silence_store.hpp>
#include <planner/version.hpp>

#include "program_options.hpp"

namespace planner::ctl {

namespace fs = std::filesystem;

namespace {

constexpr const char* kUsage =
    R"(usage: planner-ctl [--config FILE] [--actions-dir DIR] [--state-dir DIR] [--events-dir DIR] [--node NAME]
                   [--redis URL] [--stream-group NAME] [--intake KIND] COMMAND

commands:
  list [--status S] [--json]        proposals, oldest first (--json: one object per line)
  show ID                           one proposal in full
  approve ID --by NAME [--note T]   pending -> approved
  reject ID --by NAME --reason T    pending -> rejected
  start ID [--by NAME]              approved (or pending, requires_human false) -> executing
  finish ID --result succeeded|failed [--detail T] [--by NAME]
  history [ID] [--json]             the audit log, newest first
  silence add --match 'NODE/SERVICE' --for DURATION --by NAME --reason T
                                    no proposals for matching services (* and ?) for a while;
                                    prints the silence ID
  silence list [--json]             silences, running and recently ended
  silence expire ID --by NAME       end a silence now

options (flag, else variable, else the configuration file, else default; --flag=VALUE too):
  --config FILE       PLANNER_CONFIG      planner-run's file: actions_dir, events_dir, state_dir, node
                                          (default /etc/homelab-planner/planner.yaml if it exists)
  --actions-dir DIR   ACTIONS_DIR         /var/lib/homelab-planner/actions
  --state-dir DIR     PLANNER_STATE_DIR   the parent of the actions directory (audit.jsonl,
                                          silences.json)
  --events-dir DIR    EVENTS_DIR          the state directory's events/
  --node NAME         NODE_NAME           the host name (the events' node folder)
  --redis URL         REDIS_URL           silences are shared through Redis too (as planner-run
                                          replicas with intake: streams do) when this flag is
                                          given or the intake (PLANNER_INTAKE, the file) is
                                          streams; default redis://127.0.0.1:6379/0
  --stream-group NAME PLANNER_STREAM_GROUP  the replicas' group (default planner)
  --intake KIND       PLANNER_INTAKE      pubsub or streams (default pubsub): streams shares silences

exit status: 0 done, 1 not found / conflict / expired, 2 usage
)";

/// Action files may hold invalid UTF-8 from an event; print it replaced rather than fail.
std::string dump(const nlohmann::json& j, int indent = -1) {
    return j.dump(indent, ' ', false, nlohmann::json::error_handler_t::replace);
}

struct UsageError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

std::string env_or(const char* name, std::string fallback) {
    const char* v = std::getenv(name);
    return v != nullptr && *v != '\0' ? std::string(v) : std::move(fallback);
}

std::string host_name() {
    char buf[256] = {};
    if (::gethostname(buf, sizeof buf - 1) != 0) return "localhost";
    return buf;
}

/// The command's arguments: positionals, and `--flag VALUE` or bare `--flag` for the known
/// switches.
struct Args {
    std::vector<std::string> positional;
    std::map<std::string, std::string> flags;

    std::optional<std::string> get(const std::string& flag) const {
        const auto it = flags.find(flag);
        if (it == flags.end()) return std::nullopt;
        return it->second;
    }
    std::string required(const std::string& flag) const {
        auto v = get(flag);
        if (!v || v->empty()) throw UsageError(flag + " is required");
        return *v;
    }
};

std::string the_id(const Args& a) {
    if (a.positional.empty()) throw UsageError("an action ID is required");
    const std::string& id = a.positional[0];
    if (!is_valid_action_id(id)) {
        throw UsageError("invalid action ID (expected [A-Za-z0-9._-], 1..200 bytes)");
    }
    return id;
}

std::string text(const nlohmann::json& file, const char* key) {
    const auto it = file.find(key);
    if (it == file.end()) return "";
    return it->is_string() ? it->get<std::string>() : it->dump();
}

/// "3m", "2h", "1d": how long ago or how long to go, for a table read at a glance.
std::string short_duration(double seconds) {
    const bool negative = seconds < 0;
    double s = negative ? -seconds : seconds;
    std::string out;
    if (s < 60) {
        out = fmt::format("{}s", static_cast<long>(s));
    } else if (s < 3600) {
        out = fmt::format("{}m", static_cast<long>(s / 60));
    } else if (s < 86400) {
        out = fmt::format("{}h", static_cast<long>(s / 3600));
    } else {
        out = fmt::format("{}d", static_cast<long>(s / 86400));
    }
    return negative ? "-" + out : out;
}

double seconds_since(const std::string& iso, double now) {
    const auto t = detail::parse_iso8601(iso);
    return t ? now - *t : 0.0;
}

void print_table(std::FILE* out, const std::vector<ActionFile>& rows, const ActionStore& store) {
    const double now = detail::to_epoch_seconds(std::chrono::system_clock::now());
    fmt::print(out, "{:<44} {:>5} {:<28} {:<8} {:<8} {:<5} {:>4} {:<9} {}\n", "ID", "AGE",
               "NODE/SERVICE", "ACTION", "RISK", "HUMAN", "CONF", "STATUS", "EXPIRES IN");
    for (const auto& f : rows) {
        std::string expires = "-";
        if (f.status == ActionStatus::pending) {
            if (const auto at = store.expiry_of(f)) {
                expires = short_duration(detail::to_epoch_seconds(*at) - now);
            }
        }
        fmt::print(out, "{:<44} {:>5} {:<28} {:<8} {:<8} {:<5} {:>4.2f} {:<9} {}\n",
                   ActionFile::text(f.action_id),
                   short_duration(seconds_since(ActionFile::text(f.timestamp), now)), f.key(),
                   f.payload && f.payload->action ? *f.payload->action : std::string("?"),
                   ActionFile::text(f.risk_level), f.human_required() ? "yes" : "no",
                   f.confidence.value_or(0.0), to_string(f.status), expires);
    }
}

/// A number as JSON writes it, "" when absent.
template <class T>
std::string number(const std::optional<T>& v) {
    return v ? nlohmann::json(*v).dump() : std::string();
}

void print_show(std::FILE* out, const ActionFile& f) {
    const auto t = [](const std::optional<std::string>& field) { return ActionFile::text(field); };
    auto line = [&](const char* label, const std::string& value) {
        if (!value.empty()) fmt::print(out, "{:<15} {}\n", label, value);
    };
    line("id", t(f.action_id));
    line("status", std::string(to_string(f.status)));
    line("target", f.key());
    line("action", f.action() + " (" + t(f.type) + ", risk " + t(f.risk_level) + ")");
    line("requires human", f.human_required() ? "yes" : "no");
    line("confidence", number(f.confidence));
    line("reason", f.payload ? t(f.payload->reason) : std::string());
    line("description", t(f.description));  // carries the house-rule corrections
    line("model", t(f.llm_model) + " after " + number(f.llm_attempts) + " attempt(s)");
    line("source event", t(f.source_event));
    line("created", t(f.timestamp));
    line("expires", t(f.expires_at));
    line("occurrences", number(f.occurrences));
    line("last seen", t(f.last_seen));
    if (f.affected && !f.affected->empty()) {
        std::string keys;
        for (const auto& k : *f.affected) keys += (keys.empty() ? "" : ", ") + k;
        line("affected", keys);  // symptoms inhibited while this root cause is open
    }
    line("decided", t(f.decided_by).empty()
                        ? ""
                        : t(f.decided_by) + " at " + t(f.decided_at) + ": " + t(f.decision_note));
    line("started", t(f.started_by).empty() ? "" : t(f.started_by) + " at " + t(f.started_at));
    line("finished", t(f.finished_by).empty()
                         ? ""
                         : t(f.finished_by) + " at " + t(f.finished_at) + ": " + t(f.result));
    fmt::print(out, "\n{}\n", dump(f.to_json(), 2));
}

/// `silence add|list|expire`: maintenance windows in the state directory (docs/safety.md).
int silence_command(const std::string& sub, const Args& a, const fs::path& state_dir,
                    const std::optional<RedisSilencesOptions>& redis, std::FILE* out,
                    std::FILE* err) {
    SilenceStoreOptions options;
    options.state_dir = state_dir;
    SilenceStore store(options);
    // With Redis the file and Redis are synced before (list, expire: a silence added at another
    // replica) and after a change (add, expire: the replicas see it within their next sync).
    // The file is written first and is what counts: Redis away is a warning, not a failure.
    std::optional<RedisSilences> shared;
    if (redis) shared.emplace(store, *redis);
    auto sync = [&] {
        if (shared && !shared->sync()) {
            fmt::print(err, "planner-ctl: warning: silences not synced with Redis: {}\n",
                       shared->last_error());
        }
    };
    if (sub == "add") {
        const std::string match = a.required("--match");
        const auto duration = parse_duration(a.required("--for"));
        if (!duration || *duration < std::chrono::seconds{1}) {
            throw UsageError("--for must be a duration such as 30m, 2h or 1d");
        }
        const auto s = store.add(match, std::chrono::duration_cast<std::chrono::seconds>(*duration),
                                 a.required("--by"), a.required("--reason"));
        sync();
        fmt::print(out, "{}\n", s.id);
        return kExitOk;
    }
    if (sub == "list") {
        const auto now = std::chrono::system_clock::now();
        const double now_s = detail::to_epoch_seconds(now);
        sync();
        const auto silences = shared ? shared->list() : store.list();
        if (!a.get("--json")) {
            fmt::print(out, "{:<30} {:<28} {:<7} {:>7} {:<12} {}\n", "ID", "MATCH", "STATE",
                       "ENDS IN", "BY", "REASON");
        }
        for (const auto& s : silences) {
            const bool active = s.created_at <= now && now < s.ends_at;
            if (a.get("--json")) {
                auto j = to_json(s);
                j["active"] = active;
                fmt::print(out, "{}\n", dump(j));
                continue;
            }
            const std::string state = active                  ? "active"
                                      : !s.expired_by.empty() ? "expired"
                                                              : "ended";
            fmt::print(out, "{:<30} {:<28} {:<7} {:>7} {:<12} {}\n", s.id, s.match, state,
                       active ? short_duration(detail::to_epoch_seconds(s.ends_at) - now_s) : "-",
                       s.expired_by.empty() ? s.created_by : s.expired_by, s.reason);
        }
        return kExitOk;
    }
    if (sub == "expire") {
        if (a.positional.empty()) throw UsageError("a silence ID is required");
        const std::string by = a.required("--by");
        sync();
        const auto s = store.expire(a.positional[0], by);
        sync();
        fmt::print(out, "{}: expired by {}\n", s.id, s.expired_by);
        return kExitOk;
    }
    throw UsageError("unknown silence command " + sub + " (add, list, expire)");
}

int run_command(const std::string& command, const Args& a, ActionStoreOptions so,
                const fs::path& events_dir, const std::string& node, std::FILE* out) {
    const std::string default_by = env_or("USER", "planner-ctl");
    if (command == "list") {
        const auto status = a.get("--status");
        if (status && !parse_action_status(*status)) throw UsageError("unknown status " + *status);
        FileActionStore store(so);
        const auto wanted = status ? parse_action_status(*status) : std::nullopt;
        std::vector<ActionFile> rows;
        for (auto& f : store.list()) {
            if (!wanted || f.status == *wanted) rows.push_back(std::move(f));
        }
        if (a.get("--json")) {
            for (const auto& f : rows) fmt::print(out, "{}\n", dump(f.to_json()));
        } else {
            print_table(out, rows, store);
        }
        return kExitOk;
    }
    if (command == "show") {
        const std::string id = the_id(a);
        const auto file = FileActionStore(so).read(id);
        if (!file) throw ActionStoreError(ActionStoreError::Kind::not_found, "no action " + id);
        if (a.get("--json")) {
            fmt::print(out, "{}\n", dump(file->to_json(), 2));
        } else {
            print_show(out, *file);
        }
        return kExitOk;
    }
    if (command == "history") {
        std::optional<std::string> id;
        if (!a.positional.empty()) id = the_id(a);
        const auto lines =
            FileActionStore(so).history(id ? std::optional<std::string_view>(*id) : std::nullopt);
        for (const auto& l : lines) {
            if (a.get("--json")) {
                fmt::print(out, "{}\n", dump(l));
            } else {
                fmt::print(out, "{}  {}  {} -> {}  by {}{}\n", text(l, "at"), text(l, "action_id"),
                           text(l, "from"), text(l, "to"), text(l, "by"),
                           text(l, "note").empty() ? "" : "  (" + text(l, "note") + ")");
            }
        }
        return kExitOk;
    }

    // Every command below changes a proposal: validate the arguments before touching anything.
    if (command == "approve") {
        a.required("--by");
    } else if (command == "reject") {
        a.required("--by");
        a.required("--reason");
    } else if (command == "start") {
    } else if (command == "finish") {
        const std::string r = a.required("--result");
        if (r != "succeeded" && r != "failed") {
            throw UsageError("--result must be succeeded or failed");
        }
    } else {
        throw UsageError("unknown command " + command);
    }
    const std::string id = the_id(a);
    FileEventSink events(events_dir, [node] { return node; });
    FileActionStore store(so, &events);
    TransitionResult r;
    if (command == "approve") {
        r = store.approve(id, a.required("--by"), a.get("--note").value_or(""));
    } else if (command == "reject") {
        r = store.reject(id, a.required("--by"), a.required("--reason"));
    } else if (command == "start") {
        r = store.start(id, a.get("--by").value_or(default_by));
    } else {
        r = store.finish(id, a.required("--result") == "succeeded",
                         a.get("--by").value_or(default_by), a.get("--detail").value_or(""));
    }
    fmt::print(out, "{}: {} -> {}\n", id, to_string(r.from), to_string(r.to));
    if (!r.event_error.empty()) {
        // The transition stands (file and audit log); only the event file is missing.
        fmt::print(stderr, "planner-ctl: warning: event not written: {}\n", r.event_error);
    }
    return kExitOk;
}

/// One subcommand's arguments as CLI11 declares them, gathered into Args for its body.
class Command {
  public:
    Command(CLI::App& parent, const std::string& name, std::size_t max_positional)
        : app_(parent.add_subcommand(name)) {
        app_->allow_extras();  // reported as one line by check_extras
        app_->set_help_flag();
        if (max_positional > 0) {
            app_->add_option("id", args_.positional)->expected(0, static_cast<int>(max_positional));
        }
    }
    Command& value(const std::string& flag) {
        app_->add_option(flag)->expected(1)->each(
            [this, flag](const std::string& v) { args_.flags[flag] = v; });
        return *this;
    }
    Command& flag(const std::string& flag) {
        app_->add_flag(flag)->disable_flag_override()->each(
            [this, flag](const std::string&) { args_.flags[flag] = ""; });
        return *this;
    }
    CLI::App* app() const { return app_; }
    const Args& args() const { return args_; }

  private:
    CLI::App* app_;
    Args args_;
};

/// What CLI11 left over: an unknown option or a surplus argument, in one line.
void check_extras(const CLI::App& app, const char* unknown_positional) {
    const auto rest = app.remaining();
    if (rest.empty()) return;
    const std::string& first = rest.front();
    if (first.starts_with("--") && first.size() > 2) {
        throw UsageError("unknown option " + first.substr(0, first.find('=')));
    }
    throw UsageError(unknown_positional + first);
}

/// CLI11's parse errors in planner-ctl's words: one line.
std::string parse_error_text(const CLI::ParseError& e) {
    std::string what = e.what();
    if (const auto colon = what.find(": "); what.starts_with("--") && colon != std::string::npos) {
        return what.substr(0, colon) + " needs a value";
    }
    std::replace(what.begin(), what.end(), '\n', ' ');
    return what;
}

}  // namespace

int run_ctl(const std::vector<std::string>& args, std::FILE* out, std::FILE* err) {
    return run_ctl(args, out, err, CtlEnvironment{});
}

int run_ctl(const std::vector<std::string>& args, std::FILE* out, std::FILE* err,
            const CtlEnvironment& environment) {
    try {
        // Precedence as planner-run's, through the same resolver (src/common): flag > variable
        // > file > default. The file is --config, else PLANNER_CONFIG, else the default file if
        // it exists, so the same directories are read as the planner that wrote them.
        fs::path actions = "/var/lib/homelab-planner/actions";
        std::optional<fs::path> events;
        std::string node;
        std::optional<fs::path> config_file;
        std::optional<fs::path> state;
        std::optional<std::chrono::seconds> proposal_ttl;
        // Silences in Redis: where, for which group, and whether at all (as planner-run: only
        // with the streams intake, unless --redis says so).
        std::string redis_url = "redis://127.0.0.1:6379/0";
        std::string stream_group = "planner";
        std::optional<RedisUrl> file_redis;  // the file's, parsed when it was validated
        bool streams = false;
        programs::Sources sources;

        CLI::App app("planner-ctl", "planner-ctl");
        app.set_help_flag();  // kUsage is the help
        app.allow_extras();   // an unknown command, in one line (check_extras)
        auto* help = app.add_flag("-h,--help");
        auto* version = app.add_flag("--version");
        const auto setting = [&](const std::string& flag, const std::string& env, auto assign) {
            app.add_option(flag)->expected(1)->envname(env)->each(assign);
        };
        setting("--config", "PLANNER_CONFIG", [&](const std::string& v) { config_file = v; });
        setting("--actions-dir", "ACTIONS_DIR", [&](const std::string& v) { actions = v; });
        setting("--state-dir", "PLANNER_STATE_DIR", [&](const std::string& v) { state = v; });
        setting("--events-dir", "EVENTS_DIR", [&](const std::string& v) { events = v; });
        setting("--node", "NODE_NAME", [&](const std::string& v) { node = v; });
        setting("--redis", "REDIS_URL", [&](const std::string& v) { redis_url = v; });
        setting("--stream-group", "PLANNER_STREAM_GROUP",
                [&](const std::string& v) { stream_group = v; });
        setting("--intake", "PLANNER_INTAKE",
                [&](const std::string& v) { streams = v == "streams"; });

        Command list(app, "list", 0);
        list.value("--status").flag("--json");
        Command show(app, "show", 1);
        show.flag("--json");
        Command approve(app, "approve", 1);
        approve.value("--by").value("--note");
        Command reject(app, "reject", 1);
        reject.value("--by").value("--reason");
        Command start(app, "start", 1);
        start.value("--by");
        Command finish(app, "finish", 1);
        finish.value("--by").value("--result").value("--detail");
        Command history(app, "history", 1);
        history.flag("--json");
        CLI::App* silence = app.add_subcommand("silence");
        silence->set_help_flag();
        silence->allow_extras();
        Command silence_add(*silence, "add", 0);
        silence_add.value("--match").value("--for").value("--by").value("--reason");
        Command silence_list(*silence, "list", 0);
        silence_list.flag("--json");
        Command silence_expire(*silence, "expire", 1);
        silence_expire.value("--by");
        const std::vector<Command*> commands = {&list,  &show,   &approve, &reject,
                                                &start, &finish, &history};
        const std::vector<Command*> silence_commands = {&silence_add, &silence_list,
                                                        &silence_expire};

        const auto variables = programs::detach_variables(app);
        std::vector<std::string> reversed(args.rbegin(), args.rend());  // CLI11 pops the back
        try {
            app.parse(reversed);
        } catch (const CLI::ParseError& e) {
            throw UsageError(parse_error_text(e));
        }
        if (help->count() > 0) {
            fmt::print(out, "{}", kUsage);
            return kExitOk;
        }
        if (version->count() > 0) {
            fmt::print(out, "planner-ctl {}\n", PLANNER_VERSION_STRING);
            return kExitOk;
        }
        check_extras(app, "unknown command ");
        programs::apply_variables(variables, environment.env, sources);

        config_file = programs::choose_config_file(config_file, environment.default_config);
        if (config_file) {
            const auto loaded = load_config(*config_file);
            if (!loaded.ok()) {
                // The first error names the problem; planner-run --check-config lists them all.
                throw UsageError(loaded.errors().front().to_string() +
                                 " (planner-run --check-config lists every error)");
            }
            const auto& c = loaded.config();
            const std::string file = "file";
            programs::take_from_file(sources, "actions-dir", c.actions_dir, file,
                                     [&](const fs::path& v) { actions = v; });
            programs::take_from_file(sources, "events-dir", c.events_dir, file,
                                     [&](const fs::path& v) { events = v; });
            programs::take_from_file(sources, "state-dir", c.state_dir, file,
                                     [&](const fs::path& v) { state = v; });
            programs::take_from_file(sources, "node", c.node, file,
                                     [&](const std::string& v) { node = v; });
            programs::take_from_file(sources, "redis", c.redis, file,
                                     [&](const RedisUrl& v) { file_redis = v; });
            programs::take_from_file(sources, "stream-group", c.stream_group, file,
                                     [&](const std::string& v) { stream_group = v; });
            programs::take_from_file(sources, "intake", c.intake, file,
                                     [&](IntakeKind v) { streams = v == IntakeKind::streams; });
            proposal_ttl = c.proposal_ttl;
        }
        const Command* chosen = nullptr;
        for (const Command* c : commands) {
            if (c->app()->parsed()) chosen = c;
        }
        const Command* chosen_silence = nullptr;
        for (const Command* c : silence_commands) {
            if (c->app()->parsed()) chosen_silence = c;
        }
        if (chosen == nullptr && !silence->parsed()) {
            throw UsageError("a command is required (see --help)");
        }
        if (chosen != nullptr) check_extras(*chosen->app(), "unexpected argument ");
        if (silence->parsed()) {
            const auto rest = silence->remaining();
            if (chosen_silence == nullptr && rest.empty()) {
                throw UsageError("silence needs add, list or expire");
            }
            if (!rest.empty() && !rest.front().starts_with("-")) {
                throw UsageError("unknown silence command " + rest.front() +
                                 " (add, list, expire)");
            }
            check_extras(*silence, "unexpected argument ");
            if (chosen_silence == nullptr) throw UsageError("silence needs add, list or expire");
            check_extras(*chosen_silence->app(), "unexpected argument ");
        }

        ActionStoreOptions so;
        so.actions_dir = actions;
        so.state_dir = state ? *state : programs::default_state_dir(actions);
        // The events beside the state, as planner-run puts them, unless set.
        const fs::path events_dir = events ? *events : programs::default_events_dir(so.state_dir);
        // The file's proposal_ttl, so `list` shows the expiry planner-run's sweep applies.
        if (proposal_ttl) so.proposal_ttl = *proposal_ttl;
        if (node.empty()) node = host_name();
        if (silence->parsed()) {
            std::optional<RedisSilencesOptions> redis;
            const auto redis_source = sources.find("redis");
            if ((redis_source != sources.end() && redis_source->second == "flag") || streams) {
                redis.emplace();
                try {
                    redis->url = file_redis ? *file_redis : parse_redis_url(redis_url);
                } catch (const std::exception& e) {
                    throw UsageError(std::string("--redis: ") + e.what());
                }
                redis->prefix = "planner:" + stream_group + ":silence:";
            }
            return silence_command(chosen_silence->app()->get_name(), chosen_silence->args(),
                                   so.state_dir, redis, out, err);
        }
        return run_command(chosen->app()->get_name(), chosen->args(), so, events_dir, node, out);
    } catch (const UsageError& e) {
        fmt::print(err, "planner-ctl: {}\n", e.what());
        return kExitUsage;
    } catch (const ActionStoreError& e) {
        fmt::print(err, "planner-ctl: {}\n", e.what());
        return e.kind() == ActionStoreError::Kind::invalid_id ? kExitUsage : kExitRefused;
    } catch (const SilenceError& e) {
        fmt::print(err, "planner-ctl: {}\n", e.what());
        return e.kind() == SilenceError::Kind::invalid ? kExitUsage : kExitRefused;
    } catch (const std::exception& e) {
        fmt::print(err, "planner-ctl: {}\n", e.what());
        return kExitRefused;
    }
}

}  // namespace planner::ctl
