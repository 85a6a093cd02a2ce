#pragma once

// The compiled JSON schema validator behind validation.hpp; internal, not installed (valijson
// stays private to the library).

#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "planner/schema.hpp"
#include "planner/validation.hpp"

namespace planner {

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

}  // namespace planner
