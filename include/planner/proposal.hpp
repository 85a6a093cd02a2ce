#pragma once

/// \file
/// A remediation proposal and the pending-action file the executor reads.

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "planner/action_file.hpp"
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
inline ActionProposal proposal_from_action_file(const ActionFile& file) {
    const auto text = [](const std::optional<std::string>& field) {
        return ActionFile::text(field);
    };
    ActionProposal p;
    p.action_id = text(file.action_id);
    p.type = text(file.type);
    p.node = text(file.node);
    p.service = text(file.service);
    p.risk_level = text(file.risk_level);
    p.description = text(file.description);
    p.source_event = text(file.source_event);
    p.llm_model = text(file.llm_model);
    if (file.payload) {
        p.action = text(file.payload->action);
        p.reason = text(file.payload->reason);
    }
    if (file.confidence) p.confidence = *file.confidence;
    if (file.llm_attempts) p.llm_attempts = static_cast<int>(*file.llm_attempts);
    p.requires_human = file.human_required();
    if (const auto t = ActionFile::time_of(file.timestamp)) p.created_at = *t;
    if (const auto t = ActionFile::time_of(file.expires_at)) p.expires_at = *t;
    p.escalated = file.escalated.value_or(false);
    if (file.history) p.history = *file.history;
    return p;
}

/// The same from a document; one that is no action file (ActionFile::from_json fails) gives
/// an empty proposal.
inline ActionProposal proposal_from_action_file(const nlohmann::json& file) {
    auto parsed = ActionFile::from_json(file);
    return parsed.file ? proposal_from_action_file(*parsed.file) : ActionProposal{};
}

}  // namespace planner
