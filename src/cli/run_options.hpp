#pragma once

/// \file
/// planner-run's command line: flags with environment fallbacks, parsed into plain data by a
/// function that touches no global state, so tests call it directly.

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <planner/alertmanager.hpp>
#include <planner/config.hpp>
#include <planner/listen_address.hpp>
#include <planner/log.hpp>
#include <planner/redis_subscriber.hpp>

#include "program_options.hpp"

namespace planner::cli {

enum class LogFormat { json, text };

/// Where events come from (planner/config.hpp, where the configuration file needs it).
using IntakeKind = planner::IntakeKind;

/// What cooldowns, budgets, inhibition windows and silences measure time with: this machine's
/// clocks, or the events' own timestamps (`--clock event`, only with --replay or --eval).
enum class ClockKind { wall, event };

/// Everything planner-run needs to start; the defaults are the documented ones.
struct RunOptions {
    RedisUrl redis{};
    std::vector<std::string> channels{"health_events", "world_updates"};
    std::optional<std::string> replay;  ///< a file of JSON lines, "-" for stdin
    ClockKind clock = ClockKind::wall;
    /// `--eval FILE`: score the model chain against labelled incidents (docs/evals.md).
    std::optional<std::string> eval;
    bool json = false;  ///< `--json`: --eval prints its scores as JSON
    IntakeKind intake = IntakeKind::pubsub;
    /// Streams intake: the consumer group, how long an entry may sit with a consumer before
    /// another takes it over, and how many deliveries before it goes to `<stream>:dead`.
    std::string stream_group = "planner";
    std::chrono::milliseconds claim_idle{std::chrono::seconds{60}};
    std::size_t max_deliveries = 5;
    std::filesystem::path actions_dir = "/var/lib/homelab-planner/actions";
    std::filesystem::path events_dir = "/var/lib/homelab-planner/events";
    std::string node;  ///< empty: the host name
    /// The approval workflow's state (audit.jsonl); unless a flag, variable or the file sets
    /// it, apply_config puts it beside actions_dir (the parent, as planner-ctl does).
    std::filesystem::path state_dir = "/var/lib/homelab-planner";
    /// A proposal nobody decided on within this expires; zero: never.
    std::chrono::seconds proposal_ttl{std::chrono::hours{24}};
    std::chrono::milliseconds cooldown{std::chrono::seconds{300}};
    std::vector<std::string> models{"ollama/qwen2.5:7b", "rules"};
    /// Files holding an API key (one trailing newline trimmed): secrets stay out of the
    /// environment and the command line, which other processes can read. Read by run_planner;
    /// empty: the key comes from OPENAI_API_KEY / ANTHROPIC_API_KEY, if set.
    std::filesystem::path openai_key_file;
    std::filesystem::path anthropic_key_file;
    std::chrono::milliseconds llm_timeout{std::chrono::seconds{60}};
    std::size_t workers = 1;
    std::size_t queue_size = 1024;
    std::chrono::milliseconds stop_grace{std::chrono::seconds{30}};
    std::filesystem::path heartbeat;  ///< empty: no heartbeat file
    std::chrono::milliseconds heartbeat_interval{std::chrono::seconds{10}};
    std::chrono::milliseconds max_age{std::chrono::seconds{300}};
    /// `--http-listen`: the HTTP listener (metrics, health, proposals API, approval page);
    /// nullopt: none.
    std::optional<ListenAddress> http_listen;
    /// `--http-token-file`: the bearer token approve/reject need; empty: the API is read-only.
    std::filesystem::path http_token_file;
    /// `alertmanager:` of the file: the labels POST /api/v1/alerts/alertmanager reads, and the
    /// token Alertmanager must send (empty: none).
    AlertmanagerOptions alertmanager{};
    std::filesystem::path alertmanager_token_file;
    bool dry_run = false;
    LogLevel log_level = LogLevel::info;
    LogFormat log_format = LogFormat::json;

    /// --config / PLANNER_CONFIG; empty: the built-in configuration (examples/planner.yaml).
    std::optional<std::filesystem::path> config;
    /// From the configuration (apply_config): told to the model and enforced.
    HouseRules rules{};
    Topology topology{};
    /// `models:` entries of the file with their per-model settings (timeout, key_file, ...).
    std::vector<ConfigModel> config_models;
    /// `notify:` of the file: run_planner reads their token and secret files and notifies.
    std::vector<ConfigNotifyTarget> notify;
    /// Setting (flag name without dashes) → "flag" or "variable"; apply_config adds "file" and
    /// "default" for the settings a configuration gives.
    std::map<std::string, std::string> sources;
};

/// `flags_markdown`: the hidden `--help-flags-markdown`, docs/running.md's flag table.
enum class Command {
    run,
    healthcheck,
    help,
    version,
    check_config,
    print_config,
    eval,
    flags_markdown,
    error
};

struct ParsedCommand {
    Command command = Command::run;
    RunOptions options;
    std::string error;  ///< one line, set for Command::error
};

/// Looks up an environment variable; nullopt when unset (shared with planner-ctl).
using EnvLookup = programs::EnvLookup;

/// The process environment.
std::optional<std::string> process_env(std::string_view name);

/// Parses `args` (without the program name). Flags win over variables, variables over defaults.
/// Validates numbers, the Redis URL, every model spec, the log level and format; never throws.
/// Without --config or PLANNER_CONFIG, `default_config` is the configuration file if it exists
/// (recorded as source "default"); the two-argument form uses /etc/homelab-planner/planner.yaml.
ParsedCommand parse_command_line(const std::vector<std::string>& args, const EnvLookup& env);
ParsedCommand parse_command_line(const std::vector<std::string>& args, const EnvLookup& env,
                                 const std::filesystem::path& default_config);

/// Reads an API key file: at most 64 KiB, one trailing "\n" or "\r\n" removed. Throws
/// std::runtime_error with a one-line reason that names `path` but never its content (it is
/// a secret, and an unreadable or malformed file may still hold part of it).
std::string read_key_file(const std::filesystem::path& path);

/// The `--help` text: every flag with its variable and default.
std::string usage();

/// The flag table of docs/running.md (markdown), from the same declarations as --help; a test
/// keeps the document equal to it.
std::string flags_markdown();

}  // namespace planner::cli
