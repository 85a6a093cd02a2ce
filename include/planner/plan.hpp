#pragma once

/// \file
/// From a router's answer to a proposal the executor can act on.

#include <chrono>
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "planner/detail/safe_name.hpp"
#include "planner/health_event.hpp"
#include "planner/messages.hpp"
#include "planner/policy.hpp"
#include "planner/proposal.hpp"
#include "planner/router.hpp"

namespace planner {

/// `plan-<node>-<service>-<epoch>-<sequence>`, built from file-name-safe components so the id
/// can name the action file. `sequence` makes two proposals in the same second distinct.
inline std::string make_action_id(const HealthEvent& event,
                                  std::chrono::system_clock::time_point now,
                                  std::uint64_t sequence) {
    const auto epoch =
        std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
    return "plan-" + detail::safe_path_component(event.node, 48) + "-" +
           detail::safe_path_component(event.service, 48) + "-" + std::to_string(epoch) + "-" +
           std::to_string(sequence);
}

/// A reason longer than this is cut: it is for a human to read, not a log to store.
inline constexpr std::size_t kMaxReasonBytes = 2000;

/// Builds the proposal for `event` from a router's answer and applies the house rules.
/// Fields missing or of the wrong type in `result.content` (a careless custom router) fall back
/// to the safest value: notify, confidence 0, human required.
inline ActionProposal make_proposal(const HealthEvent& event, const RouteResult& result,
                                    const HouseRules& rules = {}) {
    const auto& c = result.content;
    auto text = [&](const char* key) -> std::string {
        if (!c.is_object()) return {};
        const auto it = c.find(key);
        return it != c.end() && it->is_string() ? it->get<std::string>() : std::string{};
    };
    ActionProposal p;
    p.action = text("action");
    p.node = text("node");
    p.service = text("service");
    p.reason = text("reason");
    if (p.reason.empty()) p.reason = "(the model gave no reason)";
    if (p.reason.size() > kMaxReasonBytes) {
        p.reason = std::string(detail::utf8_prefix(p.reason, kMaxReasonBytes)) + "...";
    }
    p.confidence = 0.0;
    p.requires_human = true;
    if (c.is_object()) {
        if (auto it = c.find("confidence"); it != c.end() && it->is_number()) {
            p.confidence = it->get<double>();
        }
        if (auto it = c.find("requires_human"); it != c.end() && it->is_boolean()) {
            p.requires_human = it->get<bool>();
        }
    }
    p.source_event = event.event_type;
    p.llm_model = result.model_used;
    p.llm_attempts = static_cast<int>(result.attempts.size());
    apply_policy(p, event, rules);
    return p;
}

}  // namespace planner
