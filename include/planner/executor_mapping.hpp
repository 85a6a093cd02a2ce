#pragma once

/// \file
/// How a model's action word maps to what the executor runs and how risky it is.

#include <string_view>

namespace planner {

/// Executor action type and risk level; an aggregate so `auto [type, risk] = ...` works.
struct ExecutorMapping {
    std::string_view type;
    std::string_view risk_level;

    friend constexpr bool operator==(const ExecutorMapping&, const ExecutorMapping&) = default;
};

/// restart→container_restart/low, redeploy→redeploy/guarded, notify→notify/low,
/// ignore→ignore/none; anything else is notify/low, because telling a human is always safe.
constexpr ExecutorMapping map_action_to_executor_type(std::string_view action) noexcept {
    if (action == "restart") return {"container_restart", "low"};
    if (action == "redeploy") return {"redeploy", "guarded"};
    if (action == "notify") return {"notify", "low"};
    if (action == "ignore") return {"ignore", "none"};
    return {"notify", "low"};
}

/// The four actions a proposal may carry, in the schema's order.
inline constexpr std::string_view kActions[] = {"restart", "redeploy", "notify", "ignore"};

constexpr bool is_known_action(std::string_view action) noexcept {
    for (auto a : kActions) {
        if (a == action) return true;
    }
    return false;
}

}  // namespace planner
