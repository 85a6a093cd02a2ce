#pragma once

/// \file
/// The house rules, enforced in code after every model answer: the prompt asks, this decides.

#include <cmath>
#include <string>
#include <vector>

#include "planner/detail/glob.hpp"
#include "planner/executor_mapping.hpp"
#include "planner/health_event.hpp"
#include "planner/proposal.hpp"

namespace planner {

/// The rules as data, so that a homelab with other sensitive nodes changes a list, not code.
struct HouseRules {
    /// Nodes (shell patterns, `*` and `?`) whose every action a human approves.
    std::vector<std::string> human_only_node_patterns{"chelsty*"};
    /// Event types that may only ever produce `notify`.
    std::vector<std::string> notify_only_event_types{"disk_pressure"};
    /// Below this confidence a human approves.
    double min_confidence_without_human = 0.7;
};

/// True when `node` matches one of the rules' human-only patterns.
inline bool is_human_only_node(const HouseRules& rules, std::string_view node) noexcept {
    for (const auto& pattern : rules.human_only_node_patterns) {
        if (detail::glob_match(pattern, node)) return true;
    }
    return false;
}

/// Brings `proposal` in line with the house rules for `event`. Every change is appended to
/// `proposal.policy_corrections` in words; executor type and risk follow the final action.
inline void apply_policy(ActionProposal& proposal, const HealthEvent& event,
                         const HouseRules& rules = {}) {
    auto& fixes = proposal.policy_corrections;
    // A model must never be able to point an action at another host or service.
    if (proposal.node != event.node) {
        fixes.push_back("node '" + proposal.node + "' replaced by the event's node '" + event.node +
                        "'");
        proposal.node = event.node;
    }
    if (proposal.service != event.service) {
        fixes.push_back("service '" + proposal.service + "' replaced by the event's service '" +
                        event.service + "'");
        proposal.service = event.service;
    }
    if (!is_known_action(proposal.action)) {
        fixes.push_back("unknown action '" + proposal.action + "' replaced by notify");
        proposal.action = "notify";
    }
    for (const auto& type : rules.notify_only_event_types) {
        if (event.event_type == type && proposal.action != "notify") {
            fixes.push_back("action '" + proposal.action + "' replaced by notify: " + type +
                            " is always notify");
            proposal.action = "notify";
            break;
        }
    }
    if (!std::isfinite(proposal.confidence) || proposal.confidence < 0.0 ||
        proposal.confidence > 1.0) {
        fixes.push_back("confidence out of range, set to 0");
        proposal.confidence = 0.0;
    }
    if (!proposal.requires_human) {
        if (is_human_only_node(rules, event.node)) {
            fixes.push_back("requires_human forced: node '" + event.node +
                            "' always needs a human");
            proposal.requires_human = true;
        } else if (proposal.confidence < rules.min_confidence_without_human) {
            fixes.push_back("requires_human forced: confidence below threshold");
            proposal.requires_human = true;
        }
    }
    const auto [type, risk] = map_action_to_executor_type(proposal.action);
    proposal.type = std::string(type);
    proposal.risk_level = std::string(risk);
}

}  // namespace planner
