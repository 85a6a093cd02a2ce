#include "ctl.hpp"

#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <map>
#include <optional>
#include <set>
#include <stdexcept>

#include <fmt/format.h>

#include <planner/action_store.hpp>
#include <planner/config.hpp>
#include <planner/detail/time.hpp>
#include <planner/file_action_store.hpp>
#include <planner/file_sinks.hpp>
#include <planner/redis_silences.hpp>
#include <planner/silence_store.hpp>
#include <planner/version.hpp>

namespace planner::ctl {

namespace fs = std::filesystem;

namespace {

constexpr const char* kUsage =
    R"(usage: planner-ctl [--config FILE] [--actions-dir DIR] [--state-dir DIR] [--events-dir DIR] [--node NAME]
                   [--redis URL] [--stream-group NAME] COMMAND

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

options (flag, else variable, else the configuration file, else default):
  --config FILE       PLANNER_CONFIG      planner-run's file: actions_dir, events_dir, state_dir, node
  --actions-dir DIR   ACTIONS_DIR         /var/lib/homelab-planner/actions
  --state-dir DIR     PLANNER_STATE_DIR   the parent of the actions directory (audit.jsonl,
                                          silences.json)
  --events-dir DIR    EVENTS_DIR          /var/lib/homelab-planner/events
  --node NAME         NODE_NAME           the host name (the events' node folder)
  --redis URL         REDIS_URL           silences are shared through Redis too (as planner-run
                                          replicas with intake: streams do) when this flag is
                                          given or the intake (PLANNER_INTAKE, the file) is
                                          streams; default redis://127.0.0.1:6379/0
  --stream-group NAME PLANNER_STREAM_GROUP  the replicas' group (default planner)

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

Args parse_args(const std::vector<std::string>& args, std::size_t from,
                const std::set<std::string>& with_value, const std::set<std::string>& switches,
                std::size_t max_positional) {
    Args out;
    for (std::size_t i = from; i < args.size(); ++i) {
        const std::string& a = args[i];
        if (with_value.contains(a)) {
            if (i + 1 >= args.size()) throw UsageError(a + " needs a value");
            out.flags[a] = args[++i];
        } else if (switches.contains(a)) {
            out.flags[a] = "";
        } else if (a.starts_with("--") && a.size() > 2) {
            throw UsageError("unknown option " + a);
        } else {
            out.positional.push_back(a);
        }
    }
    if (out.positional.size() > max_positional) {
        throw UsageError("unexpected argument " + out.positional[max_positional]);
    }
    return out;
}

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
int silence_command(const std::vector<std::string>& args, std::size_t at, const fs::path& state_dir,
                    const std::optional<RedisSilencesOptions>& redis, std::FILE* out,
                    std::FILE* err) {
    if (at >= args.size()) throw UsageError("silence needs add, list or expire");
    const std::string sub = args[at];
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
        const auto a = parse_args(args, at + 1, {"--match", "--for", "--by", "--reason"}, {}, 0);
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
        const auto a = parse_args(args, at + 1, {}, {"--json"}, 0);
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
        const auto a = parse_args(args, at + 1, {"--by"}, {}, 1);
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

int run_command(const std::vector<std::string>& args, std::size_t at, ActionStoreOptions so,
                const fs::path& events_dir, const std::string& node,
                const std::optional<RedisSilencesOptions>& redis, std::FILE* out, std::FILE* err) {
    const std::string command = args[at];
    const std::string default_by = env_or("USER", "planner-ctl");
    if (command == "silence") return silence_command(args, at + 1, so.state_dir, redis, out, err);
    if (command == "list") {
        const auto a = parse_args(args, at + 1, {"--status"}, {"--json"}, 0);
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
        const auto a = parse_args(args, at + 1, {}, {"--json"}, 1);
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
        const auto a = parse_args(args, at + 1, {}, {"--json"}, 1);
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
    Args a;
    if (command == "approve") {
        a = parse_args(args, at + 1, {"--by", "--note"}, {}, 1);
        a.required("--by");
    } else if (command == "reject") {
        a = parse_args(args, at + 1, {"--by", "--reason"}, {}, 1);
        a.required("--by");
        a.required("--reason");
    } else if (command == "start") {
        a = parse_args(args, at + 1, {"--by"}, {}, 1);
    } else if (command == "finish") {
        a = parse_args(args, at + 1, {"--by", "--result", "--detail"}, {}, 1);
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

}  // namespace

int run_ctl(const std::vector<std::string>& args, std::FILE* out, std::FILE* err) {
    try {
        // Precedence as planner-run's: flag > variable > file > default. The file is found
        // first (--config or PLANNER_CONFIG), so the same directories are read as the planner
        // that wrote them.
        fs::path actions = "/var/lib/homelab-planner/actions";
        fs::path events = "/var/lib/homelab-planner/events";
        std::string node;
        std::optional<fs::path> config_file;
        std::optional<fs::path> state;
        std::optional<std::chrono::seconds> proposal_ttl;
        // Silences in Redis: where, for which group, and whether at all (as planner-run: only
        // with the streams intake, unless --redis says so).
        std::string redis_url = "redis://127.0.0.1:6379/0";
        std::string stream_group = "planner";
        std::string intake = "pubsub";
        bool redis_flag = false;
        if (const char* c = std::getenv("PLANNER_CONFIG"); c != nullptr && *c != '\0') {
            config_file = c;
        }
        // Every option but --help/--version takes a value: step over option/value pairs.
        for (std::size_t j = 0; j + 1 < args.size() && args[j].starts_with("-"); j += 2) {
            if (args[j] == "-h" || args[j] == "--help" || args[j] == "--version") break;
            if (args[j] == "--config") config_file = args[j + 1];
        }
        if (config_file) {
            const auto loaded = load_config(*config_file);
            if (!loaded.ok()) {
                // The first error names the problem; planner-run --check-config lists them all.
                throw UsageError(loaded.errors().front().to_string() +
                                 " (planner-run --check-config lists every error)");
            }
            const auto& c = loaded.config();
            if (c.actions_dir) actions = *c.actions_dir;
            if (c.events_dir) events = *c.events_dir;
            if (c.node) node = *c.node;
            state = c.state_dir;
            proposal_ttl = c.proposal_ttl;
            if (c.redis) redis_url = *c.redis;
            if (c.stream_group) stream_group = *c.stream_group;
            if (c.intake) intake = *c.intake;
        }
        redis_url = env_or("REDIS_URL", redis_url);
        stream_group = env_or("PLANNER_STREAM_GROUP", stream_group);
        intake = env_or("PLANNER_INTAKE", intake);
        actions = env_or("ACTIONS_DIR", actions.string());
        if (const char* s = std::getenv("PLANNER_STATE_DIR"); s != nullptr && *s != '\0') {
            state = s;
        }
        events = env_or("EVENTS_DIR", events.string());
        node = env_or("NODE_NAME", node);
        std::size_t i = 0;
        for (; i < args.size() && args[i].starts_with("-"); ++i) {
            const std::string& flag = args[i];
            if (flag == "-h" || flag == "--help") {
                fmt::print(out, "{}", kUsage);
                return kExitOk;
            }
            if (flag == "--version") {
                fmt::print(out, "planner-ctl {}\n", PLANNER_VERSION_STRING);
                return kExitOk;
            }
            if (i + 1 >= args.size()) throw UsageError(flag + " needs a value");
            const std::string& value = args[++i];
            if (flag == "--config") {
                // Read above, before the variables.
            } else if (flag == "--actions-dir") {
                actions = value;
            } else if (flag == "--state-dir") {
                state = value;
            } else if (flag == "--events-dir") {
                events = value;
            } else if (flag == "--node") {
                node = value;
            } else if (flag == "--redis") {
                redis_url = value;
                redis_flag = true;
            } else if (flag == "--stream-group") {
                stream_group = value;
            } else {
                throw UsageError("unknown option " + flag);
            }
        }
        if (i >= args.size()) throw UsageError("a command is required (see --help)");
        ActionStoreOptions so;
        so.actions_dir = actions;
        so.state_dir =
            state ? *state
                  : (actions.parent_path().empty() ? fs::path(".") : actions.parent_path());
        // The file's proposal_ttl, so `list` shows the expiry planner-run's sweep applies.
        if (proposal_ttl) so.proposal_ttl = *proposal_ttl;
        if (node.empty()) node = host_name();
        std::optional<RedisSilencesOptions> redis;
        if (redis_flag || intake == "streams") {
            redis.emplace();
            try {
                redis->url = parse_redis_url(redis_url);
            } catch (const std::exception& e) {
                throw UsageError(std::string("--redis: ") + e.what());
            }
            redis->prefix = "planner:" + stream_group + ":silence:";
        }
        return run_command(args, i, so, events, node, redis, out, err);
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
