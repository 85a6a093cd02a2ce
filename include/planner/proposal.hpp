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
        return file;
    }
};

}  // namespace planner
