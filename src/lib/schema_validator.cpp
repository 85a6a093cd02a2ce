#include "planner/schema_validator.hpp"

#include <stdexcept>

#include <valijson/adapters/nlohmann_json_adapter.hpp>
#include <valijson/schema.hpp>
#include <valijson/schema_parser.hpp>
#include <valijson/validation_results.hpp>
#include <valijson/validator.hpp>

namespace planner {

namespace {

/// valijson reports a path as {"<root>", "[confidence]", "[0]"}; people read JSON pointers.
std::string to_json_pointer(const std::vector<std::string>& context) {
    std::string pointer;
    for (const auto& part : context) {
        if (part == "<root>") continue;
        std::string token = part;
        if (token.size() >= 2 && token.front() == '[' && token.back() == ']') {
            token = token.substr(1, token.size() - 2);
        }
        if (token.size() >= 2 && token.front() == '"' && token.back() == '"') {
            token = token.substr(1, token.size() - 2);
        }
        std::string escaped;
        for (const char c : token) {
            if (c == '~') {
                escaped += "~0";
            } else if (c == '/') {
                escaped += "~1";
            } else {
                escaped += c;
            }
        }
        pointer += "/" + escaped;
    }
    return pointer;
}

}  // namespace

struct SchemaValidator::Impl {
    valijson::Schema schema;
};

SchemaValidator::SchemaValidator(const nlohmann::json& schema) : impl_(std::make_unique<Impl>()) {
    try {
        valijson::SchemaParser parser;
        valijson::adapters::NlohmannJsonAdapter adapter(schema);
        parser.populateSchema(adapter, impl_->schema);
    } catch (const std::exception& e) {
        throw std::invalid_argument(std::string("invalid JSON schema: ") + e.what());
    }
}

SchemaValidator::~SchemaValidator() = default;
SchemaValidator::SchemaValidator(SchemaValidator&&) noexcept = default;
SchemaValidator& SchemaValidator::operator=(SchemaValidator&&) noexcept = default;

std::vector<ValidationError> SchemaValidator::validate(const nlohmann::json& document) const {
    valijson::Validator validator(valijson::Validator::kStrongTypes);
    valijson::ValidationResults results;
    valijson::adapters::NlohmannJsonAdapter adapter(document);
    std::vector<ValidationError> errors;
    if (validator.validate(impl_->schema, adapter, &results)) return errors;
    valijson::ValidationResults::Error error;
    while (results.popError(error)) {
        errors.push_back({to_json_pointer(error.context), error.description});
    }
    if (errors.empty()) errors.push_back({"", "document does not match the schema"});
    return errors;
}

const SchemaValidator& proposal_validator() {
    static const SchemaValidator validator(proposal_schema());
    return validator;
}

std::string to_string(const std::vector<ValidationError>& errors) {
    std::string out;
    for (const auto& e : errors) {
        if (!out.empty()) out += "; ";
        out += (e.pointer.empty() ? std::string("/") : e.pointer) + ": " + e.description;
    }
    return out;
}

}  // namespace planner
