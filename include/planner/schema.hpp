#pragma once

/// \file
/// The proposal JSON schema, as data. The validator that checks documents against it is
/// compiled (valijson) and declared in validation.hpp.

#include <string_view>

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

}  // namespace planner
