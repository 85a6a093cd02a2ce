#pragma once

/// \file
/// The proposal JSON schema, and a validator that explains what is wrong.

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace planner {

/// The one definition of a valid proposal. Sent to models that can constrain decoding to it and
/// checked again after every answer, because some servers ignore it silently. It stays inside
/// the subset every provider's strict mode accepts (OpenAI's rejects string length keywords),
/// so lengths are bounded in code instead (make_proposal).
inline constexpr std::string_view kProposalSchemaJson = R"({
  "type": "object",
  "properties": {
    "action": {"type": "string", "enum": ["restart", "redeploy", "notify", "ignore"]},
    "service": {"type": "string"},
    "node": {"type": "string"},
    "reason": {"type": "string"},
    "confidence": {"type": "number", "minimum": 0, "maximum": 1},
    "requires_human": {"type": "boolean"}
  },
  "required": ["action", "service", "node", "reason", "confidence", "requires_human"],
  "additionalProperties": false
})";

/// The parsed schema; parsed once, on first use.
inline const nlohmann::json& proposal_schema() {
    static const nlohmann::json schema = nlohmann::json::parse(kProposalSchemaJson);
    return schema;
}

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
