#pragma once

/// \file
/// Whether a document matches a JSON schema, and if not, what is wrong (compiled, part of
/// `planner::planner`): to check what a custom LLMRouter answers, as the chain checks its models.

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace planner {

/// One reason a document does not match a schema.
struct ValidationError {
    std::string pointer;      ///< JSON pointer to the offending value, "" for the root
    std::string description;  ///< what is wrong, in words
};

/// `/confidence: Expected number <= 1, but found 1.7`; errors joined by "; ".
std::string to_string(const std::vector<ValidationError>& errors);

/// Every way `document` breaks proposal_schema(), empty when it is a valid proposal. The
/// validator is compiled once and shared by every thread.
std::vector<ValidationError> validate_proposal(const nlohmann::json& document);

/// Every way `document` breaks `schema`, compiled for this call. Throws std::invalid_argument
/// when `schema` is not a usable JSON schema.
std::vector<ValidationError> validate_against(const nlohmann::json& schema,
                                              const nlohmann::json& document);

}  // namespace planner
