#pragma once

/// Reading back what the planner wrote into an action file. The reasons a rule forced a
/// person (escalation, budget) are appended to `description` as words, not fields, so the
/// tests look for the words; one helper keeps that lookup the same everywhere.

#include <string>

#include <nlohmann/json.hpp>

namespace planner::testing {

/// Whether the action file's `description` contains `words`.
inline bool mentions(const nlohmann::json& action_file, const std::string& words) {
    return action_file["description"].get<std::string>().find(words) != std::string::npos;
}

}  // namespace planner::testing
