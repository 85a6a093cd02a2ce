#pragma once

/// \file
/// One action file as a type: every key docs/formats.md and docs/executor-contract.md name,
/// read in one place (`ActionFile::from_json`) and written in one place (`to_json`), so the
/// store, the seeds, planner-ctl and the HTTP API stop restating the layout. Keys the planner
/// does not know (an executor's own notes) ride along in `extra`, so a rewrite loses nothing.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "planner/detail/time.hpp"

namespace planner {

/// pending → approved | rejected | expired; approved → executing → succeeded | failed.
/// A `requires_human: false` proposal may also go pending → executing.
enum class ActionStatus { pending, approved, rejected, expired, executing, succeeded, failed };

inline std::string_view to_string(ActionStatus s) noexcept {
    switch (s) {
        case ActionStatus::pending:
            return "pending";
        case ActionStatus::approved:
            return "approved";
        case ActionStatus::rejected:
            return "rejected";
        case ActionStatus::expired:
            return "expired";
        case ActionStatus::executing:
            return "executing";
        case ActionStatus::succeeded:
            return "succeeded";
        case ActionStatus::failed:
            return "failed";
    }
    return "pending";
}

inline std::optional<ActionStatus> parse_action_status(std::string_view s) noexcept {
    for (const auto status : {ActionStatus::pending, ActionStatus::approved, ActionStatus::rejected,
                              ActionStatus::expired, ActionStatus::executing,
                              ActionStatus::succeeded, ActionStatus::failed}) {
        if (to_string(status) == s) return status;
    }
    return std::nullopt;
}

struct ActionFileParse;

/// An action file. A key that was absent stays absent on the way back (`std::optional`), so
/// `to_json(from_json(x)) == x` for every file the planner writes; the JSON is an ordinary
/// (key-sorted) nlohmann::json, so `dump_lenient(to_json(), 2)` is byte for byte today's file.
struct ActionFile {
    struct Payload {
        std::optional<std::string> action;  ///< restart | redeploy | notify | ignore
        std::optional<std::string> reason;
        nlohmann::json extra = nlohmann::json::object();  ///< payload keys not listed here
    };

    // Written with the proposal (ActionProposal::to_action_file).
    std::optional<std::string> action_id;  ///< the store sets it from the file name
    std::optional<std::string> type;
    std::optional<std::string> node;
    std::optional<std::string> service;
    std::optional<std::string> risk_level;
    std::optional<double> confidence;
    std::optional<bool> requires_human;
    ActionStatus status = ActionStatus::pending;  ///< required: a file without it is not one
    std::optional<std::string> timestamp;         ///< ISO 8601 UTC, when it was proposed
    std::optional<std::string> source_event;
    std::optional<std::string> llm_model;
    std::optional<std::int64_t> llm_attempts;
    std::optional<Payload> payload;
    std::optional<std::string> description;
    std::optional<std::string> expires_at;
    std::optional<bool> escalated;
    std::optional<nlohmann::json> history;  ///< an array of PastProposal::to_json
    std::optional<std::vector<std::string>> affected;
    // Written while it waits (note_occurrence, escalate_pending).
    std::optional<std::int64_t> occurrences;
    std::optional<std::string> last_seen;
    std::optional<std::string> escalated_at;
    // Written by the transitions.
    std::optional<std::string> decided_by;
    std::optional<std::string> decided_at;
    std::optional<std::string> decision_note;
    std::optional<std::string> started_by;
    std::optional<std::string> started_at;
    std::optional<std::string> finished_by;
    std::optional<std::string> finished_at;
    std::optional<std::string> result;
    /// Every top-level key not listed above, as read.
    nlohmann::json extra = nlohmann::json::object();

    /// A string field, or "" when absent (the way every reader treated a missing key).
    static std::string text(const std::optional<std::string>& field) {
        return field ? *field : std::string();
    }
    /// `payload.action`, or "".
    std::string action() const { return payload ? text(payload->action) : std::string(); }
    /// `requires_human`, true when absent: nothing runs unattended unless the file says so.
    bool human_required() const { return requires_human.value_or(true); }
    /// `node/service`, the key one pending proposal is kept per.
    std::string key() const { return text(node) + "/" + text(service); }
    /// `occurrences`, 1 when absent (the proposing event itself).
    std::int64_t times_seen() const { return occurrences.value_or(1); }

    /// A time field as a time point (nullopt when absent or not ISO 8601 UTC).
    static std::optional<std::chrono::system_clock::time_point> time_of(
        const std::optional<std::string>& field) {
        if (!field) return std::nullopt;
        const auto s = detail::parse_iso8601(*field);
        if (!s) return std::nullopt;
        return std::chrono::system_clock::time_point(
            std::chrono::duration_cast<std::chrono::system_clock::duration>(
                std::chrono::duration<double>(*s)));
    }

    /// Reads a document. Fails, with one line naming the key, when it is not an object, has no
    /// valid `status`, or holds a known key with the wrong type (`"node": 5`).
    static ActionFileParse from_json(const nlohmann::json& j);

    /// The document, every key present in the file and nothing else.
    nlohmann::json to_json() const {
        nlohmann::json j = extra.is_object() ? extra : nlohmann::json::object();
        const auto put = [&](const char* key, const auto& field) {
            if (field) j[key] = *field;
        };
        put("action_id", action_id);
        put("type", type);
        put("node", node);
        put("service", service);
        put("risk_level", risk_level);
        put("confidence", confidence);
        put("requires_human", requires_human);
        j["status"] = std::string(to_string(status));
        put("timestamp", timestamp);
        put("source_event", source_event);
        put("llm_model", llm_model);
        put("llm_attempts", llm_attempts);
        if (payload) {
            nlohmann::json p =
                payload->extra.is_object() ? payload->extra : nlohmann::json::object();
            if (payload->action) p["action"] = *payload->action;
            if (payload->reason) p["reason"] = *payload->reason;
            j["payload"] = std::move(p);
        }
        put("description", description);
        put("expires_at", expires_at);
        put("escalated", escalated);
        put("history", history);
        put("affected", affected);
        put("occurrences", occurrences);
        put("last_seen", last_seen);
        put("escalated_at", escalated_at);
        put("decided_by", decided_by);
        put("decided_at", decided_at);
        put("decision_note", decision_note);
        put("started_by", started_by);
        put("started_at", started_at);
        put("finished_by", finished_by);
        put("finished_at", finished_at);
        put("result", result);
        return j;
    }
};

/// What `ActionFile::from_json` made of a document: the file, or one line saying what is wrong.
struct ActionFileParse {
    std::optional<ActionFile> file;
    std::string error;  ///< empty when `file` is set
};

inline ActionFileParse ActionFile::from_json(const nlohmann::json& j) {
    using json = nlohmann::json;
    ActionFileParse out;
    if (!j.is_object()) {
        out.error = "an action file is a JSON object";
        return out;
    }
    ActionFile f;
    std::string error;
    const auto wrong = [&](const std::string& key, const char* expected) {
        if (error.empty()) error = "\"" + key + "\" is not " + expected;
    };
    const auto str = [&](const std::string& key, const json& v, std::optional<std::string>& to) {
        if (v.is_string()) {
            to = v.get<std::string>();
        } else {
            wrong(key, "a string");
        }
    };
    const auto boolean = [&](const std::string& key, const json& v, std::optional<bool>& to) {
        if (v.is_boolean()) {
            to = v.get<bool>();
        } else {
            wrong(key, "true or false");
        }
    };
    const auto integer = [&](const std::string& key, const json& v,
                             std::optional<std::int64_t>& to) {
        if (v.is_number_integer()) {
            to = v.get<std::int64_t>();
        } else {
            wrong(key, "an integer");
        }
    };
    bool has_status = false;
    for (const auto& [key, v] : j.items()) {
        if (key == "status") {
            has_status = true;
            const auto s = v.is_string() ? parse_action_status(v.get<std::string>()) : std::nullopt;
            if (s) {
                f.status = *s;
            } else {
                wrong(key,
                      "one of pending, approved, rejected, expired, executing, succeeded, "
                      "failed");
            }
        } else if (key == "action_id") {
            str(key, v, f.action_id);
        } else if (key == "type") {
            str(key, v, f.type);
        } else if (key == "node") {
            str(key, v, f.node);
        } else if (key == "service") {
            str(key, v, f.service);
        } else if (key == "risk_level") {
            str(key, v, f.risk_level);
        } else if (key == "confidence") {
            if (v.is_number()) {
                f.confidence = v.get<double>();
            } else {
                wrong(key, "a number");
            }
        } else if (key == "requires_human") {
            boolean(key, v, f.requires_human);
        } else if (key == "timestamp") {
            str(key, v, f.timestamp);
        } else if (key == "source_event") {
            str(key, v, f.source_event);
        } else if (key == "llm_model") {
            str(key, v, f.llm_model);
        } else if (key == "llm_attempts") {
            integer(key, v, f.llm_attempts);
        } else if (key == "payload") {
            if (!v.is_object()) {
                wrong(key, "an object");
                continue;
            }
            Payload p;
            for (const auto& [pk, pv] : v.items()) {
                if (pk == "action") {
                    str("payload.action", pv, p.action);
                } else if (pk == "reason") {
                    str("payload.reason", pv, p.reason);
                } else {
                    p.extra[pk] = pv;
                }
            }
            f.payload = std::move(p);
        } else if (key == "description") {
            str(key, v, f.description);
        } else if (key == "expires_at") {
            str(key, v, f.expires_at);
        } else if (key == "escalated") {
            boolean(key, v, f.escalated);
        } else if (key == "history") {
            if (v.is_array()) {
                f.history = v;
            } else {
                wrong(key, "an array");
            }
        } else if (key == "affected") {
            std::vector<std::string> keys;
            bool ok = v.is_array();
            if (ok) {
                for (const auto& k : v) {
                    if (!k.is_string()) {
                        ok = false;
                        break;
                    }
                    keys.push_back(k.get<std::string>());
                }
            }
            if (ok) {
                f.affected = std::move(keys);
            } else {
                wrong(key, "an array of strings");
            }
        } else if (key == "occurrences") {
            integer(key, v, f.occurrences);
        } else if (key == "last_seen") {
            str(key, v, f.last_seen);
        } else if (key == "escalated_at") {
            str(key, v, f.escalated_at);
        } else if (key == "decided_by") {
            str(key, v, f.decided_by);
        } else if (key == "decided_at") {
            str(key, v, f.decided_at);
        } else if (key == "decision_note") {
            str(key, v, f.decision_note);
        } else if (key == "started_by") {
            str(key, v, f.started_by);
        } else if (key == "started_at") {
            str(key, v, f.started_at);
        } else if (key == "finished_by") {
            str(key, v, f.finished_by);
        } else if (key == "finished_at") {
            str(key, v, f.finished_at);
        } else if (key == "result") {
            str(key, v, f.result);
        } else {
            f.extra[key] = v;
        }
    }
    if (error.empty() && !has_status) error = "\"status\" is missing";
    if (!error.empty()) {
        out.error = std::move(error);
        return out;
    }
    out.file = std::move(f);
    return out;
}

}  // namespace planner
