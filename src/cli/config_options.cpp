#include "config_options.hpp"

#include <chrono>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <planner/chain_router.hpp>
#include <planner/config.hpp>
#include <planner/listen_address.hpp>
#include <planner/url.hpp>

#include "program_options.hpp"

namespace planner::cli {

namespace {

/// Where a setting came from: its flag name is the key of RunOptions::sources.
std::string source_of(const RunOptions& o, const std::string& flag) {
    const auto it = o.sources.find(flag);
    return it == o.sources.end() ? "default" : it->second;
}

/// JSON strings are YAML strings: quoted and escaped alike.
std::string quoted(const std::string& text) {
    return nlohmann::json(text).dump();
}

std::string quoted_list(const std::vector<std::string>& items) {
    std::string out = "[";
    for (std::size_t i = 0; i < items.size(); ++i) {
        if (i) out += ", ";
        out += quoted(items[i]);
    }
    return out + "]";
}

std::string seconds_text(std::chrono::milliseconds d) {
    if (d.count() % 1000 != 0) return std::to_string(d.count()) + "ms";
    return std::to_string(d.count() / 1000) + "s";
}

/// A notification URL shows only where it goes: its path and query may be the credential (a
/// Slack webhook, an ntfy topic), so they become `***`. Still a URL --config accepts.
std::string notify_url_text(const std::string& url) {
    const auto scheme = url.find("://");
    if (scheme == std::string::npos) return "(set)";
    const auto end = url.find_first_of("/?#", scheme + 3);
    return redact_url(url.substr(0, end)) + "/***";
}

std::size_t service_count(const Topology& t) {
    std::size_t n = 0;
    for (const auto& node : t.nodes) n += node.services.size();
    return n;
}

}  // namespace

std::vector<std::string> apply_config(RunOptions& o) {
    const bool builtin = !o.config.has_value();
    const ConfigResult result =
        builtin ? parse_config(builtin_config_yaml(), "built-in") : load_config(*o.config);
    std::vector<std::string> errors;
    if (!result.ok()) {
        for (const auto& e : result.errors()) errors.push_back(e.to_string());
        return errors;
    }
    const PlannerConfig& c = result.config();
    const std::string label = builtin ? "default" : "file";
    // A setting from the file applies only where no flag or variable gave one.
    const auto take = [&](const std::string& flag, const auto& value, auto&& assign) {
        programs::take_from_file(o.sources, flag, value, label, assign);
    };
    // Typed values, parsed once when the file was validated.
    take("redis", c.redis, [&](const RedisUrl& url) { o.redis = url; });
    take("channel", c.channels, [&](const auto& v) { o.channels = v; });
    take("actions-dir", c.actions_dir, [&](const auto& v) { o.actions_dir = v; });
    take("events-dir", c.events_dir, [&](const auto& v) { o.events_dir = v; });
    take("node", c.node, [&](const auto& v) { o.node = v; });
    take("cooldown", c.cooldown, [&](const auto& v) { o.cooldown = v; });
    take("state-dir", c.state_dir, [&](const auto& v) { o.state_dir = v; });
    // As planner-ctl: the state directory beside the actions directory and the events in it,
    // unless set (the defaults give /var/lib/homelab-planner and its events/ either way).
    if (!o.sources.count("state-dir")) o.state_dir = programs::default_state_dir(o.actions_dir);
    // The built-in file's events_dir is the default one: it follows the state directory too.
    if (source_of(o, "events-dir") == "default") {
        o.events_dir = programs::default_events_dir(o.state_dir);
    }
    take("proposal-ttl", c.proposal_ttl, [&](const auto& v) { o.proposal_ttl = v; });
    take("http-listen", c.http_listen, [&](const ListenAddress& v) { o.http_listen = v; });
    take("http-token-file", c.http_token_file, [&](const auto& v) { o.http_token_file = v; });
    take("workers", c.workers, [&](int v) { o.workers = static_cast<std::size_t>(v); });
    take("intake", c.intake, [&](IntakeKind v) { o.intake = v; });
    take("stream-group", c.stream_group, [&](const auto& v) { o.stream_group = v; });
    take("claim-idle", c.claim_idle, [&](const auto& v) { o.claim_idle = v; });
    take("max-deliveries", c.max_deliveries,
         [&](int v) { o.max_deliveries = static_cast<std::size_t>(v); });
    if (!c.models.empty() && !o.sources.count("model")) {
        o.models.clear();
        for (const auto& m : c.models) o.models.push_back(m.spec);
        o.config_models = c.models;
        o.sources["model"] = label;
        // A key_file belongs to its entry alone (ModelEntry::api_key): it is sent only to that
        // entry's base URL, never to the provider's other entries.
    }
    o.alertmanager = c.alertmanager.value_or(AlertmanagerOptions{});
    o.alertmanager_token_file = c.alertmanager_token_file.value_or(std::filesystem::path{});
    if (c.alertmanager) o.sources["alertmanager"] = label;
    o.notify = c.notify;
    if (!c.notify.empty()) o.sources["notify"] = label;
    o.rules = c.rules.value_or(HouseRules{});
    o.sources["rules"] = label;
    // Without topology: the file describes no nodes (not the built-in homelab).
    o.topology = c.topology.value_or(Topology{{}});
    o.sources["topology"] = label;
    return errors;
}

std::string config_summary(const RunOptions& o) {
    const auto& r = o.rules;
    std::string models;
    for (const auto& m : o.models) models += (models.empty() ? "" : ", ") + redact_url(m);
    return fmt::format(
        "{}: valid: {} nodes, {} services, {} models ({}), rules: {} human-only node patterns, "
        "{} notify-only event types, {} human-only service patterns, {} services with allowed "
        "actions, human below confidence {:.2f}",
        o.config ? o.config->string() : "built-in configuration", o.topology.nodes.size(),
        service_count(o.topology), o.models.size(), models, r.human_only_node_patterns.size(),
        r.notify_only_event_types.size(), r.human_only_service_patterns.size(),
        r.allowed_actions.size(), r.min_confidence_without_human);
}

std::string print_config(const RunOptions& o) {
    std::string y;
    const auto line = [&](const std::string& text, const std::string& flag) {
        y += text + "  # " + source_of(o, flag) + "\n";
    };
    y += "# planner-run's effective configuration; after each setting, where it came from\n";
    y += fmt::format(
        "# (flag, variable, file: {}, or default: the built-in examples/planner.yaml)\n",
        o.config ? o.config->string() : "none");
    line("node: " + quoted(o.node), "node");
    line("redis: " + quoted(o.redis.redacted()), "redis");
    line("channels: " + quoted_list(o.channels), "channel");
    line("actions_dir: " + quoted(o.actions_dir.string()), "actions-dir");
    line("events_dir: " + quoted(o.events_dir.string()), "events-dir");
    line("cooldown: " + seconds_text(o.cooldown), "cooldown");
    line("workers: " + std::to_string(o.workers), "workers");
    line(std::string("intake: ") + (o.intake == IntakeKind::streams ? "streams" : "pubsub"),
         "intake");
    line("stream_group: " + quoted(o.stream_group), "stream-group");
    line("claim_idle: " + seconds_text(o.claim_idle), "claim-idle");
    line("max_deliveries: " + std::to_string(o.max_deliveries), "max-deliveries");
    line("state_dir: " + quoted(o.state_dir.string()), "state-dir");
    line("proposal_ttl: " + seconds_text(o.proposal_ttl), "proposal-ttl");
    if (!o.http_listen && o.http_token_file.empty()) {
        line("http: {}", "http-listen");
    } else {
        y += "http:\n";
        if (o.http_listen) line("  listen: " + quoted(o.http_listen->to_string()), "http-listen");
        // The token file's path, never the token.
        if (!o.http_token_file.empty()) {
            line("  token_file: " + quoted(o.http_token_file.string()), "http-token-file");
        }
    }
    line("models:", "model");
    for (std::size_t i = 0; i < o.models.size(); ++i) {
        y += "  - spec: " + quoted(redact_url(o.models[i])) + "\n";
        const ConfigModel* m = nullptr;
        for (const auto& cm : o.config_models) {
            if (cm.spec == o.models[i]) m = &cm;
        }
        const auto provider = parse_model_spec(o.models[i]).provider;
        // The key file's path is shown, never the key.
        if (m != nullptr && !m->key_file.empty()) {
            y += "    key_file: " + quoted(m->key_file.string()) + "\n";
        } else if (provider == "openai" && !o.openai_key_file.empty()) {
            y += "    key_file: " + quoted(o.openai_key_file.string()) + "\n";
        } else if (provider == "anthropic" && !o.anthropic_key_file.empty()) {
            y += "    key_file: " + quoted(o.anthropic_key_file.string()) + "\n";
        }
        if (m == nullptr) continue;
        if (m->timeout) y += "    timeout: " + seconds_text(*m->timeout) + "\n";
        if (m->max_tokens) y += "    max_tokens: " + std::to_string(*m->max_tokens) + "\n";
        if (m->schema_mode) y += "    schema_mode: " + quoted(*m->schema_mode) + "\n";
        if (m->num_ctx) y += "    num_ctx: " + std::to_string(*m->num_ctx) + "\n";
        if (m->keep_alive) y += "    keep_alive: " + std::to_string(m->keep_alive->count()) + "s\n";
    }
    y += "alertmanager:\n";
    line("  node_label: " + quoted(o.alertmanager.node_label), "alertmanager");
    line("  service_labels: " + quoted_list(o.alertmanager.service_labels), "alertmanager");
    if (!o.alertmanager_token_file.empty()) {
        line("  token_file: " + quoted(o.alertmanager_token_file.string()), "alertmanager");
    }
    if (o.notify.empty()) {
        line("notify: []", "notify");
    } else {
        line("notify:", "notify");
        // Tokens and secrets by their file, URLs and header values never.
        for (const auto& t : o.notify) {
            y += "  - type: " + quoted(t.type) + "\n";
            y += "    url: " + quoted(notify_url_text(t.url)) + "\n";
            y += "    when: " + quoted(t.when) + "\n";
            if (!t.name.empty()) y += "    name: " + quoted(t.name) + "\n";
            if (!t.token_file.empty())
                y += "    token_file: " + quoted(t.token_file.string()) + "\n";
            if (!t.secret_file.empty()) {
                y += "    secret_file: " + quoted(t.secret_file.string()) + "\n";
            }
            if (t.priority > 0) y += "    priority: " + std::to_string(t.priority) + "\n";
            if (!t.tags.empty()) y += "    tags: " + quoted_list(t.tags) + "\n";
            if (!t.headers.empty()) {
                y += "    headers:\n";
                for (const auto& [name, value] : t.headers) {
                    y += "      " + quoted(name) + ": \"(set)\"\n";
                }
            }
        }
    }
    line("topology:", "topology");
    y += "  nodes:";
    y += o.topology.nodes.empty() ? " {}\n" : "\n";
    for (const auto& node : o.topology.nodes) {
        y += "    " + quoted(node.name) + ":\n";
        y += "      description: " + quoted(node.description) + "\n";
        if (node.services.empty()) continue;
        y += "      services:\n";
        for (const auto& s : node.services) {
            std::string body;
            if (!s.depends_on.empty()) body += "depends_on: " + quoted_list(s.depends_on);
            if (const auto* allowed = allowed_actions_for(o.rules, node.name, s.name)) {
                if (!body.empty()) body += ", ";
                body += "allowed_actions: " + quoted_list(*allowed);
            }
            y += "        " + quoted(s.name) + ": {" + body + "}\n";
        }
    }
    line("rules:", "rules");
    y += "  human_only_nodes: " + quoted_list(o.rules.human_only_node_patterns) + "\n";
    y += "  notify_only_event_types: " + quoted_list(o.rules.notify_only_event_types) + "\n";
    y += fmt::format("  min_confidence_without_human: {}\n", o.rules.min_confidence_without_human);
    y += "  human_only_services: " + quoted_list(o.rules.human_only_service_patterns) + "\n";
    y += fmt::format("  budget: {{per_node: {}, per_homelab: {}, window: {}s}}\n",
                     o.rules.budget.per_node, o.rules.budget.per_homelab,
                     o.rules.budget.window.count());
    y += fmt::format("  escalate: {{after: {}, window: {}s}}\n", o.rules.escalate.after,
                     o.rules.escalate.window.count());
    return y;
}

std::vector<NeedsRestart> needs_restart(const RunOptions& a, const RunOptions& b) {
    std::vector<NeedsRestart> out;
    const auto differ = [&](const char* setting, const std::string& x, const std::string& y) {
        if (x != y) out.push_back({setting, x, y});
    };
    differ("redis", a.redis.redacted(), b.redis.redacted());
    differ("channels", quoted_list(a.channels), quoted_list(b.channels));
    differ("actions_dir", a.actions_dir.string(), b.actions_dir.string());
    differ("events_dir", a.events_dir.string(), b.events_dir.string());
    differ("workers", std::to_string(a.workers), std::to_string(b.workers));
    differ("intake", a.intake == IntakeKind::streams ? "streams" : "pubsub",
           b.intake == IntakeKind::streams ? "streams" : "pubsub");
    differ("stream_group", a.stream_group, b.stream_group);
    differ("claim_idle", seconds_text(a.claim_idle), seconds_text(b.claim_idle));
    differ("max_deliveries", std::to_string(a.max_deliveries), std::to_string(b.max_deliveries));
    const auto targets = [](const RunOptions& o) {
        std::vector<std::string> shown;
        for (const auto& t : o.notify) shown.push_back(t.type + " " + notify_url_text(t.url));
        return quoted_list(shown);
    };
    differ("notify", targets(a), targets(b));
    differ("state_dir", a.state_dir.string(), b.state_dir.string());
    differ("proposal_ttl", seconds_text(a.proposal_ttl), seconds_text(b.proposal_ttl));
    differ("http.listen", a.http_listen ? a.http_listen->to_string() : "off",
           b.http_listen ? b.http_listen->to_string() : "off");
    differ("http.token_file", a.http_token_file.string(), b.http_token_file.string());
    differ("alertmanager.node_label", a.alertmanager.node_label, b.alertmanager.node_label);
    differ("alertmanager.service_labels", quoted_list(a.alertmanager.service_labels),
           quoted_list(b.alertmanager.service_labels));
    differ("alertmanager.token_file", a.alertmanager_token_file.string(),
           b.alertmanager_token_file.string());
    return out;
}

}  // namespace planner::cli
