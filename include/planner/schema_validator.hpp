#pragma once

/// \file
/// A JSON schema validator that explains what is wrong (compiled, part of planner::planner).

#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "planner/schema.hpp"

namespace planner {

/// One reason a document does not match a schema.
struct ValidationError {
    std::string pointer;      ///< JSON pointer to the offending value, "" for the root
    std::string description;  ///< what is wrong, in words
};

/// `/confidence: Expected number <= 1, but found 1.7`; errors joined by "; ".
std::string to_string(const std::vector<ValidationError>& errors);

/// A JSON schema compiled once and reusable from several threads.
class SchemaValidator {
  public:
    /// Throws std::invalid_argument when `schema` is not a usable JSON schema.
    explicit SchemaValidator(const nlohmann::json& schema);
    ~SchemaValidator();
    SchemaValidator(SchemaValidator&&) noexcept;
    SchemaValidator& operator=(SchemaValidator&&) noexcept;

    /// Every violation, empty when `document` is valid.
    std::vector<ValidationError> validate(const nlohmann::json& document) const;

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

/// The validator for proposal_schema(), built once.
const SchemaValidator& proposal_validator();

/// Shorthand: proposal_validator().validate(document).
inline std::vector<ValidationError> validate_proposal(const nlohmann::json& document) {
    return proposal_validator().validate(document);
}

}  // namespace planner
