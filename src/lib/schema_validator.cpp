#include "schema_validator.hpp"

#include <algorithm>
#include <initializer_list>
#include <optional>
#include <stdexcept>
#include <string_view>

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

/// A fast check for the simplest kind of schema, the proposal's: an object whose properties
/// are all required, no others allowed, each a string (maybe from an enum), a number (maybe
/// with an inclusive minimum and maximum) or a boolean. It accepts only documents that schema
/// certainly accepts; anything else goes to valijson, which finds the errors. Every answer is
/// checked and nearly every answer is valid, and valijson's walk (a visitor, sets, copies of
/// the property names) cost more than the rest of a proposal's planning.
class FlatObjectCheck {
  public:
    /// The check for `schema`, or nothing when the schema is not of that kind.
    static std::optional<FlatObjectCheck> compile(const nlohmann::json& schema) {
        const auto only_keys = [](const nlohmann::json& j,
                                  std::initializer_list<const char*> keys) {
            if (!j.is_object()) return false;
            for (const auto& [key, _] : j.items()) {
                if (std::find(keys.begin(), keys.end(), std::string_view(key)) == keys.end()) {
                    return false;
                }
            }
            return true;
        };
        if (!only_keys(schema, {"type", "properties", "required", "additionalProperties"}) ||
            !schema.contains("type") || schema["type"] != "object" ||
            !schema.contains("properties") || !schema["properties"].is_object() ||
            !schema.contains("additionalProperties") || schema["additionalProperties"] != false ||
            !schema.contains("required") || !schema["required"].is_array()) {
            return std::nullopt;
        }
        const auto& properties = schema["properties"];
        if (schema["required"].size() != properties.size()) return std::nullopt;
        for (const auto& name : schema["required"]) {
            if (!name.is_string() || !properties.contains(name.get_ref<const std::string&>())) {
                return std::nullopt;
            }
        }
        FlatObjectCheck check;
        for (const auto& [name, p] : properties.items()) {
            if (!only_keys(p, {"type", "enum", "minimum", "maximum"}) || !p.contains("type") ||
                !p["type"].is_string()) {
                return std::nullopt;
            }
            Property property{name, p["type"].get<std::string>(), {}, std::nullopt, std::nullopt};
            if (property.type != "string" && property.type != "number" &&
                property.type != "boolean") {
                return std::nullopt;
            }
            if (p.contains("enum")) {
                if (property.type != "string" || !p["enum"].is_array()) return std::nullopt;
                for (const auto& v : p["enum"]) {
                    if (!v.is_string()) return std::nullopt;
                    property.allowed.push_back(v);
                }
            }
            for (const auto* bound : {"minimum", "maximum"}) {
                if (!p.contains(bound)) continue;
                if (property.type != "number" || !p[bound].is_number()) return std::nullopt;
                (std::string_view(bound) == "minimum" ? property.minimum : property.maximum) =
                    p[bound].get<double>();
            }
            check.properties_.push_back(std::move(property));
        }
        return check;
    }

    /// True only for a document the schema certainly accepts.
    bool accepts(const nlohmann::json& d) const {
        if (!d.is_object() || d.size() != properties_.size()) return false;
        for (const auto& p : properties_) {
            const auto it = d.find(p.name);
            if (it == d.end()) return false;
            if (p.type == "string") {
                if (!it->is_string()) return false;
                if (!p.allowed.empty() &&
                    std::find(p.allowed.begin(), p.allowed.end(),
                              it->get_ref<const std::string&>()) == p.allowed.end()) {
                    return false;
                }
            } else if (p.type == "number") {
                if (!it->is_number()) return false;
                const double v = it->get<double>();
                if (v != v) return false;  // NaN
                if (p.minimum && !(v >= *p.minimum)) return false;
                if (p.maximum && !(v <= *p.maximum)) return false;
            } else if (!it->is_boolean()) {
                return false;
            }
        }
        return true;
    }

  private:
    struct Property {
        std::string name;
        std::string type;
        std::vector<std::string> allowed;
        std::optional<double> minimum;
        std::optional<double> maximum;
    };
    std::vector<Property> properties_;
};

}  // namespace

struct SchemaValidator::Impl {
    valijson::Schema schema;
    /// Set for a schema of the proposal's kind: accepts what is certainly valid at once.
    std::optional<FlatObjectCheck> fast_check;
};

SchemaValidator::SchemaValidator(const nlohmann::json& schema) : impl_(std::make_unique<Impl>()) {
    impl_->fast_check = FlatObjectCheck::compile(schema);
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
    if (impl_->fast_check && impl_->fast_check->accepts(document)) return {};
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

std::vector<ValidationError> validate_proposal(const nlohmann::json& document) {
    return proposal_validator().validate(document);
}

std::vector<ValidationError> validate_against(const nlohmann::json& schema,
                                              const nlohmann::json& document) {
    return SchemaValidator(schema).validate(document);
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
