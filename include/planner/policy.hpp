#pragma once

/// \file
/// The house rules, enforced in code after every model answer: the prompt asks, this decides.

#include <chrono>
#include <cmath>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "planner/detail/glob.hpp"
#include "planner/escalation.hpp"
#include "planner/executor_mapping.hpp"
#include "planner/health_event.hpp"
#include "planner/proposal.hpp"
#include "planner/remediation_budget.hpp"

namespace planner {

namespace detail {
/// `a, b, c`: lists in corrections and prompts.
inline std::string join_words(const std::vector<std::string>& items) {
    std::string out;
    for (std::size_t i = 0; i < items.size(); ++i) {
        if (i) out += ", ";
        out += items[i];
    }
    return out;
}
}  // namespace detail

/// The rules as data, so that a homelab with other sensitive nodes changes a list, not code.
struct HouseRules {
    /// Nodes (shell patterns, `*` and `?`) whose every action a human approves.
    std::vector<std::string> human_only_node_patterns{"chelsty*"};
    /// Event types that may only ever produce `notify`.
    std::vector<std::string> notify_only_event_types{"disk_pressure"};
    /// Below this confidence a human approves.
    double min_confidence_without_human = 0.7;
    /// Services (`node/service` shell patterns, e.g. `*/vaultwarden`) whose every action a
    /// human approves: a sensitive service on an otherwise unattended node.
    std::vector<std::string> human_only_service_patterns{};
    /// Per service (`node/service`, exact), the only actions it may receive. An action outside
    /// its list is replaced by the most conservative one in the list (kConservativeOrder).
    std::map<std::string, std::vector<std::string>> allowed_actions{};
    /// How many proposals may run without a human per node and for the homelab within a
    /// window. Not part of apply_policy (one answer cannot know the others): the plan step
    /// enforces it with a RemediationBudget after apply_policy. No limits by default.
    RemediationBudgetLimits budget{};
    /// When a node/service's proposals escalate to a human at high priority (flapping, or the
    /// previous fix failed). Like the budget, enforced by the plan step after apply_policy, from
    /// the history of earlier proposals (EscalationHistory). Off by default.
    EscalationRules escalate{};
    /// How long an actionable event keeps an incident open: while one of a service's
    /// dependencies (or its node, for node_offline/node_unreachable) has one, the service's own
    /// events are inhibited as symptoms (IncidentTracker). Zero: no inhibition.
    std::chrono::milliseconds inhibit_window{std::chrono::minutes{10}};
};

/// Most conservative first: notify changes nothing and tells a human; ignore changes nothing
/// but tells nobody; restart changes state and keeps the deployment; redeploy replaces it.
inline constexpr std::string_view kConservativeOrder[] = {"notify", "ignore", "restart",
                                                          "redeploy"};

/// `node/service`, the key of per-service rules and of human_only_service_patterns.
inline std::string service_key(std::string_view node, std::string_view service) {
    std::string key;
    key.reserve(node.size() + service.size() + 1);
    key.append(node).append("/").append(service);
    return key;
}

/// True when `node/service` matches one of the rules' human-only service patterns.
inline bool is_human_only_service(const HouseRules& rules, std::string_view node,
                                  std::string_view service) {
    if (rules.human_only_service_patterns.empty()) return false;
    const std::string key = service_key(node, service);
    for (const auto& pattern : rules.human_only_service_patterns) {
        if (detail::glob_match(pattern, key)) return true;
    }
    return false;
}

/// The actions `node/service` may receive; null when it has no list (every action allowed).
inline const std::vector<std::string>* allowed_actions_for(const HouseRules& rules,
                                                           std::string_view node,
                                                           std::string_view service) {
    if (rules.allowed_actions.empty()) return nullptr;
    const auto it = rules.allowed_actions.find(service_key(node, service));
    return it == rules.allowed_actions.end() ? nullptr : &it->second;
}

/// The most conservative action in `allowed` (kConservativeOrder); notify when none is known.
inline std::string most_conservative(const std::vector<std::string>& allowed) {
    for (const auto candidate : kConservativeOrder) {
        for (const auto& a : allowed) {
            if (a == candidate) return a;
        }
    }
    return "notify";
}

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
    if (const auto* allowed = allowed_actions_for(rules, event.node, event.service)) {
        bool ok = false;
        for (const auto& a : *allowed) ok = ok || a == proposal.action;
        if (!ok) {
            const std::string replacement = most_conservative(*allowed);
            fixes.push_back("action '" + proposal.action + "' replaced by " + replacement +
                            ": service '" + service_key(event.node, event.service) +
                            "' allows only " + detail::join_words(*allowed));
            proposal.action = replacement;
        }
    }
    // After allowed_actions, so notify-only wins: telling a human is never unsafe.
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
        } else if (is_human_only_service(rules, event.node, event.service)) {
            fixes.push_back("requires_human forced: service '" +
                            service_key(event.node, event.service) + "' always needs a human");
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
