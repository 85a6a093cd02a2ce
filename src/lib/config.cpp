#include "planner/config.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <functional>
#include <limits>
#include <regex>
#include <set>
#include <stdexcept>

#include "config_yaml.hpp"
#include "file_io.hpp"
#include "planner/chain_router.hpp"
#include "planner/listen_address.hpp"
#include "planner/messages.hpp"
#include "planner/redis_subscriber.hpp"
#include "planner_embedded.hpp"
#include "schema_validator.hpp"

namespace planner {

using nlohmann::json;

namespace {

constexpr std::string_view kNameChars =
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-";

/// Errors echo what the file says; a file can say anything. One line each, and short: control
/// characters escaped, at most 300 bytes (never splitting a UTF-8 character).
std::string one_line(std::string_view text) {
    constexpr std::size_t kMax = 300;
    std::string out;
    for (const char c : text) {
        const auto u = static_cast<unsigned char>(c);
        if (u < 0x20 || u == 0x7F) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\x%02x", u);
            out += u == '\n' ? "\\n" : u == '\t' ? "\\t" : buf;
        } else {
            out += c;
        }
        if (out.size() > kMax) {
            out = std::string(detail::utf8_prefix(out, kMax)) + "...";
            break;
        }
    }
    return out;
}

/// Levenshtein distance, for "did you mean".
std::size_t edit_distance(std::string_view a, std::string_view b) {
    std::vector<std::size_t> row(b.size() + 1);
    for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
    for (std::size_t i = 1; i <= a.size(); ++i) {
        std::size_t diag = row[0];
        row[0] = i;
        for (std::size_t j = 1; j <= b.size(); ++j) {
            const std::size_t up = row[j];
            row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] != b[j - 1])});
            diag = up;
        }
    }
    return row[b.size()];
}

/// `; did you mean 'x'?` when a candidate is close, else "".
std::string did_you_mean(std::string_view word, const std::vector<std::string>& candidates) {
    std::string best;
    std::size_t best_distance = std::numeric_limits<std::size_t>::max();
    for (const auto& c : candidates) {
        const auto d = edit_distance(word, c);
        if (d < best_distance) {
            best_distance = d;
            best = c;
        }
    }
    const std::size_t allowed = std::max<std::size_t>(2, std::min(word.size(), best.size()) / 3);
    if (best.empty() || best_distance > allowed) return "";
    return "; did you mean '" + best + "'?";
}

std::string describe(const json& v) {
    switch (v.type()) {
        case json::value_t::null:
            return "nothing (null)";
        case json::value_t::boolean:
            return v.get<bool>() ? "true" : "false";
        case json::value_t::string:
            return "the text '" + v.get<std::string>() + "'";
        case json::value_t::array:
            return "a list";
        case json::value_t::object:
            return "a mapping";
        default:
            return "the number " + v.dump();
    }
}

bool has_type(const json& v, std::string_view type) {
    if (type == "object") return v.is_object();
    if (type == "array") return v.is_array();
    if (type == "string") return v.is_string();
    if (type == "integer") return v.is_number_integer();
    if (type == "number") return v.is_number();
    if (type == "boolean") return v.is_boolean();
    if (type == "null") return v.is_null();
    return false;
}

std::string type_words(std::string_view type) {
    if (type == "object") return "a mapping";
    if (type == "array") return "a list";
    if (type == "string") return "text";
    if (type == "integer") return "a whole number";
    if (type == "number") return "a number";
    if (type == "boolean") return "true or false";
    if (type == "null") return "nothing";
    return std::string(type);
}

/// Collects errors, each located in the text.
class Checker {
  public:
    Checker(const detail::YamlDocument& doc, std::string file, std::vector<ConfigError>& errors)
        : doc_(doc), file_(std::move(file)), errors_(errors) {}

    /// A dotted path: `models[0].spec`, `topology.nodes.nas01`.
    std::string dotted(const std::string& pointer) const {
        std::string out;
        const json* cur = &doc_.root;
        for (const auto& token : detail::split_pointer(pointer)) {
            if (cur != nullptr && cur->is_array()) {
                out += "[" + token + "]";
                std::size_t i = 0;
                const auto [p, ec] = std::from_chars(token.data(), token.data() + token.size(), i);
                cur = (ec == std::errc{} && i < cur->size()) ? &(*cur)[i] : nullptr;
            } else {
                if (!out.empty()) out += '.';
                out += token;
                cur = (cur != nullptr && cur->is_object() && cur->contains(token)) ? &(*cur)[token]
                                                                                   : nullptr;
            }
        }
        return out;
    }

    void at_value(const std::string& pointer, std::string message) {
        add(doc_.value_mark(pointer), pointer, std::move(message));
    }
    void at_key(const std::string& pointer, std::string message) {
        add(doc_.key_mark(pointer), pointer, std::move(message));
    }
    void add(detail::TextMark m, const std::string& pointer, std::string message) {
        errors_.push_back({file_, m.line, m.column, one_line(dotted(pointer)), one_line(message)});
        reported_.insert(pointer);
    }

    /// True when `pointer` or one of its ancestors already has an error.
    bool covered(const std::string& pointer) const {
        std::string p = pointer;
        for (;;) {
            if (reported_.count(p)) return true;
            if (p.empty()) return false;
            p.erase(p.rfind('/'));
        }
    }
    /// True when an error was reported strictly below `pointer`.
    bool has_descendant(const std::string& pointer) const {
        const std::string prefix = pointer + "/";
        const auto it = reported_.lower_bound(prefix);
        return it != reported_.end() && it->compare(0, prefix.size(), prefix) == 0;
    }

    /// Types and unknown keys, following the schema; what this reports, valijson does not
    /// repeat (its messages for these are less helpful).
    void walk(const json& schema, const json& value, const std::string& pointer) {
        const json& s = resolve(schema);
        if (const auto t = s.find("type"); t != s.end()) {
            std::vector<std::string> types;
            if (t->is_string()) types.push_back(t->get<std::string>());
            if (t->is_array()) {
                for (const auto& x : *t) types.push_back(x.get<std::string>());
            }
            const bool ok = std::any_of(types.begin(), types.end(),
                                        [&](const std::string& ty) { return has_type(value, ty); });
            if (!ok) {
                std::string want;
                for (std::size_t i = 0; i < types.size(); ++i) {
                    if (i) want += " or ";
                    want += type_words(types[i]);
                }
                at_value(pointer, "expected " + want + ", found " + describe(value));
                return;
            }
        }
        if (value.is_object()) walk_object(s, value, pointer);
        if (value.is_array()) {
            if (const auto items = s.find("items"); items != s.end()) {
                for (std::size_t i = 0; i < value.size(); ++i) {
                    walk(*items, value[i], detail::child_pointer(pointer, std::to_string(i)));
                }
            }
        }
    }

    const json& resolve(const json& schema) const {
        const json* s = &schema;
        for (int guard = 0; guard < 8; ++guard) {
            const auto ref = s->find("$ref");
            if (ref == s->end()) break;
            const std::string name = ref->get<std::string>().substr(std::string("#/").size());
            s = &config_schema()[json::json_pointer("/" + name)];
        }
        return *s;
    }

  private:
    void walk_object(const json& s, const json& value, const std::string& pointer) {
        const json empty = json::object();
        const auto props_it = s.find("properties");
        const json& props = props_it != s.end() ? *props_it : empty;
        const auto patterns_it = s.find("patternProperties");
        const bool closed = s.value("additionalProperties", true) == false;
        std::vector<std::string> known;
        for (const auto& [k, _] : props.items()) known.push_back(k);
        for (const auto& [key, child] : value.items()) {
            const std::string p = detail::child_pointer(pointer, key);
            if (props.contains(key)) {
                walk(props[key], child, p);
                continue;
            }
            bool matched = false;
            if (patterns_it != s.end()) {
                for (const auto& [pattern, sub] : patterns_it->items()) {
                    auto [re, fresh] = regexes_.try_emplace(pattern);
                    if (fresh) re->second = std::regex(pattern);
                    if (std::regex_search(key, re->second)) {
                        walk(sub, child, p);
                        matched = true;
                        break;
                    }
                }
            }
            if (matched || !closed) continue;
            if (patterns_it != s.end()) {
                at_key(p, "'" + key +
                              "' is not a valid name: letters, digits, '.', '_' and '-', "
                              "starting with a letter or digit, at most 63");
            } else {
                at_key(p, "unknown key '" + key + "'" + did_you_mean(key, known));
            }
        }
    }

    const detail::YamlDocument& doc_;
    std::string file_;
    std::vector<ConfigError>& errors_;
    std::set<std::string> reported_;
    std::map<std::string, std::regex> regexes_;
};

/// A pattern that no name can match is a typo the operator would never notice.
std::string never_matches_node(std::string_view pattern) {
    for (const char c : pattern) {
        if (c != '*' && c != '?' && kNameChars.find(c) == std::string_view::npos) {
            const std::string shown = c == ' ' ? "a space" : "'" + std::string(1, c) + "'";
            return "pattern '" + std::string(pattern) + "' contains " + shown +
                   ", which no node name has: it can never match";
        }
    }
    return "";
}

std::string never_matches_service(std::string_view pattern) {
    const auto slash = pattern.find('/');
    if (slash == std::string_view::npos) {
        if (pattern.find('*') != std::string_view::npos) return "";
        return "pattern '" + std::string(pattern) +
               "' has no '/': a service pattern is node/service (e.g. '*/" + std::string(pattern) +
               "'), so this can never match";
    }
    for (const auto part : {pattern.substr(0, slash), pattern.substr(slash + 1)}) {
        if (part.empty()) {
            return "pattern '" + std::string(pattern) +
                   "' has an empty node or service part: it can never match";
        }
        for (const char c : part) {
            if (c != '*' && c != '?' && kNameChars.find(c) == std::string_view::npos) {
                return "pattern '" + std::string(pattern) + "' contains '" + std::string(1, c) +
                       "', which no node or service name has: it can never match";
            }
        }
    }
    return "";
}

/// Durations, model specs, the Redis URL, patterns and the dependency graph: what a schema
/// cannot say. Runs only on values whose type is right.
/// What validation parsed, kept for build(): each value is parsed once.
struct Parsed {
    std::optional<RedisUrl> redis;
    std::optional<ListenAddress> http_listen;
};

void check_semantics(Checker& c, const json& root, Parsed& parsed) {
    const auto duration = [&](const std::string& pointer, const json& v, bool whole_seconds,
                              bool allow_zero) {
        if (c.covered(pointer)) return;
        const std::string text = v.is_string() ? v.get<std::string>() : v.dump();
        const auto d = parse_duration(text);
        if (!d) {
            c.at_value(pointer, "'" + text +
                                    "' is not a duration: use seconds (300) or \"300s\", "
                                    "\"5m\", \"1h30m\", \"250ms\"");
        } else if (!allow_zero && d->count() == 0) {
            c.at_value(pointer, "must be more than 0");
        } else if (whole_seconds && d->count() % 1000 != 0) {
            c.at_value(pointer, "must be whole seconds");
        }
    };
    if (root.contains("cooldown")) duration("/cooldown", root["cooldown"], false, true);
    if (root.contains("claim_idle")) duration("/claim_idle", root["claim_idle"], false, false);
    if (root.contains("proposal_ttl")) {
        duration("/proposal_ttl", root["proposal_ttl"], true, true);
    }
    if (root.contains("http") && root["http"].is_object() && root["http"].contains("listen") &&
        root["http"]["listen"].is_string() && !c.covered("/http/listen")) {
        try {
            parsed.http_listen = parse_listen_address(root["http"]["listen"].get<std::string>());
        } catch (const std::exception& e) {
            c.at_value("/http/listen", e.what());
        }
    }
    if (root.contains("redis") && root["redis"].is_string() && !c.covered("/redis")) {
        try {
            parsed.redis = parse_redis_url(root["redis"].get<std::string>());
        } catch (const std::exception& e) {
            c.at_value("/redis", e.what());  // never echoes a password
        }
    }
    if (root.contains("models") && root["models"].is_array()) {
        const auto& models = root["models"];
        for (std::size_t i = 0; i < models.size(); ++i) {
            const std::string base = "/models/" + std::to_string(i);
            const json& m = models[i];
            if (!m.is_object() || c.covered(base)) continue;
            if (m.contains("spec") && m["spec"].is_string() && !c.covered(base + "/spec")) {
                try {
                    parse_model_spec(m["spec"].get<std::string>());
                } catch (const std::exception& e) {
                    c.at_value(base + "/spec", e.what());
                }
            }
            if (m.contains("timeout")) duration(base + "/timeout", m["timeout"], false, false);
            if (m.contains("keep_alive")) {
                duration(base + "/keep_alive", m["keep_alive"], true, true);
            }
        }
    }
    if (root.contains("notify") && root["notify"].is_array()) {
        const auto& targets = root["notify"];
        for (std::size_t i = 0; i < targets.size(); ++i) {
            const std::string base = "/notify/" + std::to_string(i);
            const json& t = targets[i];
            if (!t.is_object() || c.covered(base) || !t.contains("type") ||
                !t["type"].is_string()) {
                continue;
            }
            const auto type = t["type"].get<std::string>();
            // The URL is a secret (a Slack webhook URL is a credential): never echoed.
            if (t.contains("url") && t["url"].is_string() && !c.covered(base + "/url")) {
                const auto url = t["url"].get<std::string>();
                if (!url.starts_with("http://") && !url.starts_with("https://")) {
                    c.at_value(base + "/url", "must be an http:// or https:// URL");
                }
            }
            const auto only_for = [&](const char* key, bool allowed, const char* types) {
                if (t.contains(key) && !allowed && !c.covered(base + "/" + key)) {
                    c.at_key(base + "/" + key,
                             std::string("only ") + types + " targets take " + key);
                }
            };
            only_for("token_file", type == "ntfy" || type == "gotify", "ntfy and gotify");
            only_for("secret_file", type == "webhook", "webhook");
            only_for("headers", type == "webhook", "webhook");
            only_for("tags", type == "ntfy", "ntfy");
            only_for("priority", type == "ntfy" || type == "gotify", "ntfy and gotify");
            if (type == "ntfy" && t.contains("priority") && t["priority"].is_number_integer() &&
                t["priority"].get<int>() > 5 && !c.covered(base + "/priority")) {
                c.at_value(base + "/priority", "ntfy priorities are 1 to 5");
            }
            if (type == "gotify" && !t.contains("token_file") && !c.covered(base)) {
                c.at_value(base, "a gotify target needs token_file (the application token)");
            }
        }
    }
    if (root.contains("rules") && root["rules"].is_object()) {
        const auto& rules = root["rules"];
        const auto patterns = [&](const char* key, std::string (*check)(std::string_view)) {
            if (!rules.contains(key) || !rules[key].is_array()) return;
            for (std::size_t i = 0; i < rules[key].size(); ++i) {
                const std::string p = std::string("/rules/") + key + "/" + std::to_string(i);
                const json& v = rules[key][i];
                if (!v.is_string() || c.covered(p)) continue;
                if (auto why = check(v.get<std::string>()); !why.empty()) c.at_value(p, why);
            }
        };
        patterns("human_only_nodes", never_matches_node);
        patterns("human_only_services", never_matches_service);
        if (rules.contains("budget") && rules["budget"].is_object() &&
            rules["budget"].contains("window")) {
            duration("/rules/budget/window", rules["budget"]["window"], true, false);
        }
        if (rules.contains("escalate") && rules["escalate"].is_object() &&
            rules["escalate"].contains("window")) {
            duration("/rules/escalate/window", rules["escalate"]["window"], true, false);
        }
        if (rules.contains("inhibit_window")) {
            duration("/rules/inhibit_window", rules["inhibit_window"], false, true);
        }
    }

    // The dependency graph: every depends_on names a declared service, and there is no cycle.
    const json* nodes = nullptr;
    if (root.contains("topology") && root["topology"].is_object() &&
        root["topology"].contains("nodes") && root["topology"]["nodes"].is_object()) {
        nodes = &root["topology"]["nodes"];
    }
    if (nodes == nullptr || c.covered("/topology/nodes")) return;
    std::map<std::string, std::vector<std::pair<std::string, std::string>>>
        graph;  // key → (dep, ptr)
    std::vector<std::string> keys;
    for (const auto& [node, body] : nodes->items()) {
        if (!body.is_object() || !body.contains("services") || !body["services"].is_object()) {
            continue;
        }
        for (const auto& [svc, _] : body["services"].items()) {
            keys.push_back(service_key(node, svc));
            graph[keys.back()];
        }
    }
    for (const auto& [node, body] : nodes->items()) {
        if (!body.is_object() || !body.contains("services") || !body["services"].is_object()) {
            continue;
        }
        for (const auto& [svc, def] : body["services"].items()) {
            if (!def.is_object() || !def.contains("depends_on") || !def["depends_on"].is_array()) {
                continue;
            }
            const std::string base = detail::child_pointer(
                detail::child_pointer(detail::child_pointer("/topology/nodes", node) + "/services",
                                      svc),
                "depends_on");
            const auto& deps = def["depends_on"];
            for (std::size_t i = 0; i < deps.size(); ++i) {
                const std::string p = base + "/" + std::to_string(i);
                if (!deps[i].is_string() || c.covered(p)) continue;
                const std::string entry = deps[i].get<std::string>();
                const std::string target = resolve_dependency(node, entry);
                if (!graph.count(target)) {
                    c.at_value(p, "depends_on names '" + entry + "', but '" + target +
                                      "' is not a service in the topology" +
                                      did_you_mean(target, keys));
                    continue;
                }
                graph[service_key(node, svc)].emplace_back(target, p);
            }
        }
    }
    // Depth-first search; each cycle is reported once, at the edge that closes it.
    std::map<std::string, int> state;  // 0 unvisited, 1 on the path, 2 done
    std::vector<std::string> path;
    std::function<void(const std::string&)> visit = [&](const std::string& key) {
        state[key] = 1;
        path.push_back(key);
        for (const auto& [dep, pointer] : graph[key]) {
            if (state[dep] == 1) {
                std::string cycle;
                const auto start = std::find(path.begin(), path.end(), dep);
                for (auto it = start; it != path.end(); ++it) cycle += *it + " -> ";
                c.at_value(pointer, "dependency cycle: " + cycle + dep);
            } else if (state[dep] == 0) {
                visit(dep);
            }
        }
        path.pop_back();
        state[key] = 2;
    };
    for (const auto& key : keys) {
        if (state[key] == 0) visit(key);
    }
}

std::vector<std::string> strings(const json& v) {
    std::vector<std::string> out;
    for (const auto& x : v) out.push_back(x.get<std::string>());
    return out;
}

/// The validated document as data.
PlannerConfig build(const json& root, std::string_view file_name, Parsed parsed) {
    PlannerConfig c;
    c.file = std::filesystem::path(std::string(file_name));
    c.document = root;
    if (root.contains("node")) c.node = root["node"].get<std::string>();
    c.redis = std::move(parsed.redis);
    if (root.contains("channels")) c.channels = strings(root["channels"]);
    if (root.contains("actions_dir")) c.actions_dir = root["actions_dir"].get<std::string>();
    if (root.contains("events_dir")) c.events_dir = root["events_dir"].get<std::string>();
    const auto duration = [](const json& v) {
        return *parse_duration(v.is_string() ? v.get<std::string>() : v.dump());
    };
    if (root.contains("cooldown")) c.cooldown = duration(root["cooldown"]);
    if (root.contains("workers")) c.workers = root["workers"].get<int>();
    if (root.contains("intake")) {
        // The schema admits these two only.
        c.intake = root["intake"] == "streams" ? IntakeKind::streams : IntakeKind::pubsub;
    }
    if (root.contains("stream_group")) c.stream_group = root["stream_group"].get<std::string>();
    if (root.contains("claim_idle")) c.claim_idle = duration(root["claim_idle"]);
    if (root.contains("max_deliveries")) c.max_deliveries = root["max_deliveries"].get<int>();
    if (root.contains("state_dir")) c.state_dir = root["state_dir"].get<std::string>();
    if (root.contains("proposal_ttl")) {
        c.proposal_ttl =
            std::chrono::duration_cast<std::chrono::seconds>(duration(root["proposal_ttl"]));
    }
    if (root.contains("http")) {
        const auto& h = root["http"];
        c.http_listen = std::move(parsed.http_listen);
        if (h.contains("token_file")) c.http_token_file = h["token_file"].get<std::string>();
    }
    if (root.contains("alertmanager")) {
        const auto& a = root["alertmanager"];
        AlertmanagerOptions am;
        if (a.contains("node_label")) am.node_label = a["node_label"].get<std::string>();
        if (a.contains("service_labels")) am.service_labels = strings(a["service_labels"]);
        c.alertmanager = std::move(am);
        if (a.contains("token_file"))
            c.alertmanager_token_file = a["token_file"].get<std::string>();
    }
    if (root.contains("models")) {
        for (const auto& m : root["models"]) {
            ConfigModel model;
            model.spec = m["spec"].get<std::string>();
            if (m.contains("timeout")) model.timeout = duration(m["timeout"]);
            if (m.contains("key_file")) model.key_file = m["key_file"].get<std::string>();
            if (m.contains("max_tokens")) model.max_tokens = m["max_tokens"].get<int>();
            if (m.contains("schema_mode")) model.schema_mode = m["schema_mode"].get<std::string>();
            if (m.contains("num_ctx")) model.num_ctx = m["num_ctx"].get<int>();
            if (m.contains("keep_alive")) {
                model.keep_alive =
                    std::chrono::duration_cast<std::chrono::seconds>(duration(m["keep_alive"]));
            }
            c.models.push_back(std::move(model));
        }
    }
    if (root.contains("notify")) {
        for (const auto& t : root["notify"]) {
            ConfigNotifyTarget target;
            target.type = t["type"].get<std::string>();
            target.url = t["url"].get<std::string>();
            target.when = t.value("when", std::string("requires_human"));
            target.token_file = t.value("token_file", std::string());
            target.secret_file = t.value("secret_file", std::string());
            target.priority = t.value("priority", 0);
            if (t.contains("tags")) target.tags = strings(t["tags"]);
            if (t.contains("headers")) {
                for (const auto& [k, v] : t["headers"].items()) {
                    target.headers.emplace_back(k, v.get<std::string>());
                }
            }
            target.name = t.value("name", std::string());
            c.notify.push_back(std::move(target));
        }
    }
    HouseRules rules;
    rules.human_only_node_patterns.clear();
    if (root.contains("rules")) {
        const auto& r = root["rules"];
        if (r.contains("human_only_nodes"))
            rules.human_only_node_patterns = strings(r["human_only_nodes"]);
        if (r.contains("notify_only_event_types")) {
            rules.notify_only_event_types = strings(r["notify_only_event_types"]);
        }
        if (r.contains("min_confidence_without_human")) {
            rules.min_confidence_without_human = r["min_confidence_without_human"].get<double>();
        }
        if (r.contains("human_only_services")) {
            rules.human_only_service_patterns = strings(r["human_only_services"]);
        }
        if (r.contains("budget")) {
            const auto& b = r["budget"];
            rules.budget.per_node = b.value("per_node", std::size_t{0});
            rules.budget.per_homelab = b.value("per_homelab", std::size_t{0});
            if (b.contains("window")) {
                rules.budget.window =
                    std::chrono::duration_cast<std::chrono::seconds>(duration(b["window"]));
            }
        }
        if (r.contains("escalate")) {
            const auto& e = r["escalate"];
            rules.escalate.after = e.value("after", std::size_t{0});
            if (e.contains("window")) {
                rules.escalate.window =
                    std::chrono::duration_cast<std::chrono::seconds>(duration(e["window"]));
            }
        }
        if (r.contains("inhibit_window")) rules.inhibit_window = duration(r["inhibit_window"]);
    }
    if (root.contains("topology")) {
        Topology topology;
        topology.nodes.clear();
        const auto& t = root["topology"];
        if (t.contains("nodes")) {
            for (const auto& [name, body] : t["nodes"].items()) {
                NodeDescription node;
                node.name = name;
                if (!body.is_object()) {
                    topology.nodes.push_back(std::move(node));
                    continue;
                }
                node.description = body.value("description", "");
                if (body.contains("services")) {
                    for (const auto& [svc, def] : body["services"].items()) {
                        ServiceDescription s;
                        s.name = svc;
                        if (def.is_object() && def.contains("depends_on")) {
                            s.depends_on = strings(def["depends_on"]);
                        }
                        if (def.is_object() && def.contains("allowed_actions")) {
                            rules.allowed_actions[service_key(name, svc)] =
                                strings(def["allowed_actions"]);
                        }
                        node.services.push_back(std::move(s));
                    }
                }
                topology.nodes.push_back(std::move(node));
            }
        }
        c.topology = std::move(topology);
    }
    c.rules = std::move(rules);
    return c;
}

/// nlohmann::json orders keys; the file's order matters for the prompt (nodes as written).
/// Reorders the topology's nodes and services as they appear in the text.
void restore_order(PlannerConfig& c, const detail::YamlDocument& doc) {
    if (!c.topology) return;
    const auto line_of = [&](const std::string& pointer) {
        const auto m = doc.key_mark(pointer);
        return std::pair{m.line, m.column};
    };
    auto& nodes = c.topology->nodes;
    std::stable_sort(nodes.begin(), nodes.end(), [&](const auto& a, const auto& b) {
        return line_of(detail::child_pointer("/topology/nodes", a.name)) <
               line_of(detail::child_pointer("/topology/nodes", b.name));
    });
    for (auto& node : nodes) {
        const std::string base = detail::child_pointer("/topology/nodes", node.name) + "/services";
        std::stable_sort(node.services.begin(), node.services.end(),
                         [&](const auto& a, const auto& b) {
                             return line_of(detail::child_pointer(base, a.name)) <
                                    line_of(detail::child_pointer(base, b.name));
                         });
    }
}

/// valijson's words, made shorter: "1.000000" → "1", the enum (the actions) spelled out.
std::string readable(std::string description, const json& root, const std::string& pointer) {
    if (description.find("enum") != std::string::npos) {
        const json& v = root[json::json_pointer(pointer)];
        return (v.is_string() ? "'" + v.get<std::string>() + "'" : v.dump()) +
               " is not an action: use notify, ignore, restart or redeploy";
    }
    for (std::size_t at = description.find(".000000"); at != std::string::npos;
         at = description.find(".000000")) {
        description.erase(at, 7);
    }
    return description;
}

ConfigResult failure(std::vector<ConfigError> errors) {
    return ConfigResult{std::move(errors)};
}

ConfigResult file_error(const std::filesystem::path& file, std::string message) {
    return failure({ConfigError{one_line(file.string()), 0, 0, "", one_line(message)}});
}

}  // namespace

std::string ConfigError::to_string() const {
    std::string out = file;
    if (line > 0) out += ":" + std::to_string(line) + ":" + std::to_string(column);
    out += ": ";
    if (!path.empty()) out += path + ": ";
    out += message;
    return out;
}

const json& config_schema() {
    static const json schema = json::parse(embedded::kConfigSchema);
    return schema;
}

std::string_view builtin_config_yaml() {
    return embedded::kBuiltinConfig;
}

std::optional<std::chrono::milliseconds> parse_duration(std::string_view text) {
    constexpr long long kMax = 10LL * 366 * 24 * 3600 * 1000;  // ten years
    if (text.empty()) return std::nullopt;
    long long total = 0;
    std::size_t i = 0;
    bool bare = true;
    while (i < text.size()) {
        long long n = 0;
        const std::size_t start = i;
        while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
            n = n * 10 + (text[i] - '0');
            if (n > kMax) return std::nullopt;
            ++i;
        }
        if (i == start) return std::nullopt;
        long long unit = 1000;  // a bare number is seconds
        if (i == text.size()) {
            if (!bare) return std::nullopt;  // "5m30": the last number needs a unit
        } else if (text.substr(i, 2) == "ms") {
            unit = 1;
            i += 2;
        } else if (text[i] == 'h' || text[i] == 'm' || text[i] == 's') {
            unit = text[i] == 'h' ? 3'600'000 : text[i] == 'm' ? 60'000 : 1000;
            ++i;
        } else {
            return std::nullopt;
        }
        bare = false;
        if (n > kMax / unit) return std::nullopt;
        total += n * unit;
        if (total > kMax) return std::nullopt;
    }
    return std::chrono::milliseconds{total};
}

ConfigResult parse_config(std::string_view yaml, std::string_view file_name,
                          const ConfigLimits& limits) {
    const std::string file(file_name);
    if (yaml.size() > limits.max_file_bytes) {
        return file_error(file, "is " + std::to_string(yaml.size()) +
                                    " bytes; a configuration is at most " +
                                    std::to_string(limits.max_file_bytes));
    }
    if (const auto bad = detail::first_invalid_utf8(yaml)) {
        const auto m = detail::mark_of_offset(yaml, *bad);
        return failure({ConfigError{file, m.line, m.column, "", "not valid UTF-8"}});
    }
    auto read = detail::read_yaml(yaml, {limits.max_depth, limits.max_values});
    std::vector<ConfigError> errors;
    if (!read.document) {
        for (const auto& p : read.problems) {
            errors.push_back({file, p.mark.line, p.mark.column, "", one_line(p.message)});
        }
        return failure(std::move(errors));
    }
    auto& doc = *read.document;
    if (doc.root.is_null()) doc.root = json::object();  // an empty file: every default
    Checker checker(doc, file, errors);
    for (const auto& p : read.problems) {
        checker.add(p.mark, p.pointer, p.message);
    }
    if (!doc.root.is_object()) {
        checker.at_value("", "the file must be a mapping of keys (node:, models:, ...), found " +
                                 describe(doc.root));
        return failure(std::move(errors));
    }
    checker.walk(config_schema(), doc.root, "");
    Parsed parsed;
    check_semantics(checker, doc.root, parsed);
    // What is left for the schema: ranges, lengths, enums, uniqueness. Its wrapper messages
    // ("failed to validate against ...") sit above a more precise error and are dropped.
    static const SchemaValidator validator(config_schema());
    std::vector<std::pair<std::string, std::string>> late;
    std::set<std::string> late_pointers;
    for (const auto& e : validator.validate(doc.root)) {
        if (checker.covered(e.pointer) || checker.has_descendant(e.pointer)) continue;
        late.emplace_back(e.pointer, e.description);
        late_pointers.insert(e.pointer);
    }
    std::set<std::string> seen;
    for (const auto& [pointer, description] : late) {
        // Drop an error that has a more precise one below it (a set: a hostile file can have
        // a hundred thousand of them).
        const auto below = late_pointers.lower_bound(pointer + "/");
        const bool deeper = below != late_pointers.end() &&
                            below->compare(0, pointer.size() + 1, pointer + "/") == 0;
        if (deeper || !seen.insert(pointer).second) continue;
        checker.at_value(pointer, readable(description, doc.root, pointer));
    }
    if (!errors.empty()) {
        std::stable_sort(errors.begin(), errors.end(), [](const auto& a, const auto& b) {
            return std::pair{a.line, a.column} < std::pair{b.line, b.column};
        });
        // Every error of a file a person wrote; a generated or hostile one is cut short.
        constexpr std::size_t kMaxErrors = 1000;
        if (errors.size() > kMaxErrors) {
            const std::size_t more = errors.size() - kMaxErrors;
            errors.resize(kMaxErrors);
            errors.push_back({file, 0, 0, "", std::to_string(more) + " more errors not shown"});
        }
        return failure(std::move(errors));
    }
    PlannerConfig config = build(doc.root, file_name, std::move(parsed));
    restore_order(config, doc);
    return ConfigResult{std::move(config)};
}

ConfigResult load_config(const std::filesystem::path& file, const ConfigLimits& limits) {
    // Refuse what is not a regular file before opening it: opening a FIFO would block.
    struct stat st {};
    if (::stat(file.c_str(), &st) != 0) {
        return file_error(file, std::string("cannot read: ") + std::strerror(errno));
    }
    if (S_ISDIR(st.st_mode)) return file_error(file, "is a directory, not a configuration file");
    if (!S_ISREG(st.st_mode)) return file_error(file, "is not a regular file (a FIFO or device?)");
    if (static_cast<std::uint64_t>(st.st_size) > limits.max_file_bytes) {
        return file_error(file, "is " + std::to_string(st.st_size) +
                                    " bytes; a configuration is at most " +
                                    std::to_string(limits.max_file_bytes));
    }
    const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) return file_error(file, std::string("cannot read: ") + std::strerror(errno));
    // Checked again on the descriptor: the path may have been swapped since stat().
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        ::close(fd);
        return file_error(file, "is not a regular file");
    }
    const auto read = detail::read_bounded(fd, limits.max_file_bytes);
    ::close(fd);
    if (read.error != 0) {
        return file_error(file, std::string("cannot read: ") + std::strerror(read.error));
    }
    if (read.too_large) {
        return file_error(file, "is larger than " + std::to_string(limits.max_file_bytes) +
                                    " bytes; a configuration is at most that");
    }
    return parse_config(read.text, file.string(), limits);
}

}  // namespace planner
