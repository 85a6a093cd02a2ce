#pragma once

/// \file
/// A remediation proposal and the pending-action file the executor reads.

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "planner/detail/time.hpp"

namespace planner {

/// One proposed action, after the house rules were applied.
struct ActionProposal {
    std::string action_id;
    std::string type;    ///< executor type, see map_action_to_executor_type
    std::string action;  ///< restart | redeploy | notify | ignore
    std::string service;
    std::string node;
    std::string reason;
    double confidence = 0.0;
    bool requires_human = true;  ///< safe default: nothing runs unattended unless decided so
    std::string risk_level = "low";
    std::string description;   ///< for people; falls back to reason
    std::string source_event;  ///< the event type that caused the proposal
    std::string llm_model;
    int llm_attempts = 0;
    std::chrono::system_clock::time_point created_at = std::chrono::system_clock::now();
    /// What the house rules changed and why, in words a human reviewer reads.
    std::vector<std::string> policy_corrections;
    /// When a still-pending proposal becomes `expired`; written as `expires_at` only when set,
    /// so a file without it reads exactly as before the approval workflow existed.
    std::optional<std::chrono::system_clock::time_point> expires_at;
    /// `rules.escalate` decided a person must look (flapping, or a fix that failed): written
    /// as `escalated: true` with `history` (the earlier proposals and how they ended), and
    /// notified at high priority. Neither key is written otherwise.
    bool escalated = false;
    nlohmann::json history = nlohmann::json::array();
    /// `node/service` keys whose events were inhibited because of this proposal's incident (its
    /// symptoms), at most kMaxAffected; written as `affected` only when not empty.
    std::vector<std::string> affected;
    /// A root cause's proposal lists at most this many symptoms: a node with 300 containers
    /// going down needs a short list, the log has the rest.
    static constexpr std::size_t kMaxAffected = 64;

    /// The executor's pending-action JSON: exactly the keys documented in docs/formats.md.
    nlohmann::json to_action_file() const {
        std::string desc = description.empty() ? reason : description;
        if (!policy_corrections.empty()) {
            desc += " [policy: ";
            for (std::size_t i = 0; i < policy_corrections.size(); ++i) {
                if (i) desc += "; ";
                desc += policy_corrections[i];
            }
            desc += "]";
        }
        // Assigned key by key: an initializer list builds a two-element array per key first.
        nlohmann::json file = nlohmann::json::object();
        file["action_id"] = action_id;
        file["type"] = type;
        file["node"] = node;
        file["service"] = service;
        file["risk_level"] = risk_level;
        file["confidence"] = confidence;
        file["requires_human"] = requires_human;
        file["status"] = "pending";
        file["timestamp"] = detail::format_iso8601_utc(created_at);
        file["source_event"] = source_event;
        file["llm_model"] = llm_model;
        file["llm_attempts"] = llm_attempts;
        auto& payload = file["payload"] = nlohmann::json::object();
        payload["action"] = action;
        payload["reason"] = reason;
        file["description"] = std::move(desc);
        if (expires_at) file["expires_at"] = detail::format_iso8601_utc(*expires_at);
        if (escalated) {
            file["escalated"] = true;
            file["history"] = history;
        }
        if (!affected.empty()) file["affected"] = affected;
        return file;
    }
};

/// The proposal an action file describes, as far as the file says (for telling people about a
/// stored proposal again). `description` keeps the file's words, policy corrections included.
inline ActionProposal proposal_from_action_file(const nlohmann::json& file) {
    const auto text = [&](const char* key) {
        const auto it = file.find(key);
        return it != file.end() && it->is_string() ? it->get<std::string>() : std::string();
    };
    ActionProposal p;
    p.action_id = text("action_id");
    p.type = text("type");
    p.node = text("node");
    p.service = text("service");
    p.risk_level = text("risk_level");
    p.description = text("description");
    p.source_event = text("source_event");
    p.llm_model = text("llm_model");
    if (const auto pl = file.find("payload"); pl != file.end() && pl->is_object()) {
        if (const auto a = pl->find("action"); a != pl->end() && a->is_string()) p.action = *a;
        if (const auto r = pl->find("reason"); r != pl->end() && r->is_string()) p.reason = *r;
    }
    if (const auto c = file.find("confidence"); c != file.end() && c->is_number()) {
        p.confidence = c->get<double>();
    }
    if (const auto a = file.find("llm_attempts"); a != file.end() && a->is_number_integer()) {
        p.llm_attempts = a->get<int>();
    }
    const auto flag = [&](const char* key, bool otherwise) {
        const auto it = file.find(key);
        return it != file.end() && it->is_boolean() ? it->get<bool>() : otherwise;
    };
    p.requires_human = flag("requires_human", true);
    const auto to_time = [](double s) {
        return std::chrono::system_clock::time_point(
            std::chrono::duration_cast<std::chrono::system_clock::duration>(
                std::chrono::duration<double>(s)));
    };
    if (const auto t = detail::parse_iso8601(text("timestamp"))) p.created_at = to_time(*t);
    if (const auto t = detail::parse_iso8601(text("expires_at"))) p.expires_at = to_time(*t);
    p.escalated = flag("escalated", false);
    if (const auto h = file.find("history"); h != file.end() && h->is_array()) p.history = *h;
    return p;
}

}  // namespace planner
