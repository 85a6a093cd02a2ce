#pragma once

/// \file
/// The configuration file (`planner-run --config FILE`): topology, house rules, models and the
/// service's settings in one YAML file, validated against docs/planner.schema.json, with every
/// error located. Compiled, part of planner::planner. Keys: docs/configuration.md.

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "planner/alertmanager.hpp"
#include "planner/listen_address.hpp"
#include "planner/policy.hpp"
#include "planner/redis_url.hpp"
#include "planner/topology.hpp"

namespace planner {

/// Where events come from: Redis pub/sub (the original; nothing kept while the planner is away)
/// or Redis Streams with a consumer group (nothing lost, replicas share it; docs/scaling.md).
enum class IntakeKind { pubsub, streams };

/// One entry of `models:`, in chain order. Only `spec` is required; the rest override the
/// chain's defaults for this entry.
struct ConfigModel {
    std::string spec;  ///< as for --model: ollama/<m>, openai/<m>, anthropic/<m>, rules [@url]
    std::optional<std::chrono::milliseconds> timeout;
    std::filesystem::path key_file;  ///< empty: the provider's usual variable; never the key
    std::optional<int> max_tokens;
    std::optional<std::string> schema_mode;
    std::optional<int> num_ctx;
    std::optional<std::chrono::seconds> keep_alive;
};

/// One entry of `notify:`. Tokens and secrets stay in files that planner-run reads at start,
/// so the configuration (and --print-config) holds paths, never them. The URL is a secret too.
struct ConfigNotifyTarget {
    std::string type;  ///< ntfy, gotify, webhook, slack
    std::string url;
    std::string when = "requires_human";  ///< or always
    std::filesystem::path token_file;     ///< ntfy, gotify
    std::filesystem::path secret_file;    ///< webhook: HMAC key
    int priority = 0;                     ///< zero: by whether a human must approve
    std::vector<std::string> tags;        ///< ntfy
    std::vector<std::pair<std::string, std::string>> headers;  ///< webhook; values are secrets
    std::string name;                                          ///< empty: <type>#<index>
};

/// A validated configuration. A setting the file leaves out stays empty, so that the caller
/// can apply flag > variable > file > built-in default. Values are kept as parsed while
/// validating (a Redis URL, a listen address, the intake), so no caller parses them again.
struct PlannerConfig {
    std::filesystem::path file;  ///< where it came from, as given
    std::optional<std::string> node;
    std::optional<RedisUrl> redis;
    std::optional<std::vector<std::string>> channels;
    std::optional<std::filesystem::path> actions_dir;
    std::optional<std::filesystem::path> events_dir;
    std::optional<std::chrono::milliseconds> cooldown;
    std::optional<int> workers;
    std::optional<IntakeKind> intake;
    std::optional<std::string> stream_group;
    std::optional<std::chrono::milliseconds> claim_idle;
    std::optional<int> max_deliveries;
    std::optional<std::filesystem::path> state_dir;  ///< holds audit.jsonl
    /// Whole seconds; zero: proposals never expire.
    std::optional<std::chrono::seconds> proposal_ttl;
    /// `http.listen` and `http.token_file`: the HTTP listener.
    std::optional<ListenAddress> http_listen;
    std::optional<std::filesystem::path> http_token_file;
    /// `alertmanager:`: the labels the Alertmanager receiver reads, and its own token file.
    std::optional<AlertmanagerOptions> alertmanager;
    std::optional<std::filesystem::path> alertmanager_token_file;
    std::vector<ConfigModel> models;         ///< empty: the file names no models
    std::vector<ConfigNotifyTarget> notify;  ///< empty: nobody is notified
    /// `topology:` from the file; without it, no nodes at all (not the built-in homelab).
    std::optional<Topology> topology;
    /// `rules:` with each absent key at its default: no human-only patterns, disk_pressure
    /// notify-only, 0.7. Per-service `allowed_actions` from the topology land here too.
    std::optional<HouseRules> rules;
    nlohmann::json document;  ///< the file as validated JSON
};

/// One problem, located. Line and column count from 1; 0 when the problem is the file itself.
struct ConfigError {
    std::string file;
    int line = 0;
    int column = 0;
    std::string path;  ///< dotted key path, e.g. `topology.nodes.nas01`; empty for the root
    std::string message;

    /// `FILE:LINE:COL: key.path: message`; the parts that are unknown are left out.
    std::string to_string() const;
};

/// The configuration, or every error found (never an empty list).
struct ConfigResult {
    std::variant<PlannerConfig, std::vector<ConfigError>> value;

    bool ok() const noexcept { return value.index() == 0; }
    const PlannerConfig& config() const { return std::get<0>(value); }
    PlannerConfig& config() { return std::get<0>(value); }
    const std::vector<ConfigError>& errors() const { return std::get<1>(value); }
};

/// Limits that keep a hostile file cheap: it is refused before it costs more than this.
struct ConfigLimits {
    std::size_t max_file_bytes = 1024 * 1024;
    std::size_t max_depth = 32;        ///< nested mappings and sequences
    std::size_t max_values = 100'000;  ///< values after expanding aliases (billion laughs)
};

/// Reads and validates `file`. Never throws for anything the file contains or is (missing,
/// a directory, a FIFO, unreadable, too large, not UTF-8, not YAML, not a valid config).
ConfigResult load_config(const std::filesystem::path& file, const ConfigLimits& limits = {});

/// The same for text already in memory; `file_name` names it in errors.
ConfigResult parse_config(std::string_view yaml, std::string_view file_name,
                          const ConfigLimits& limits = {});

/// docs/planner.schema.json, compiled into the library.
const nlohmann::json& config_schema();

/// examples/planner.yaml, compiled into the library: the built-in configuration.
std::string_view builtin_config_yaml();

/// `300`, `"300s"`, `"5m"`, `"1h30m"`, `"250ms"`: nullopt when malformed or above 10 years.
std::optional<std::chrono::milliseconds> parse_duration(std::string_view text);

}  // namespace planner
