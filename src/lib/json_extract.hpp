#pragma once

// Finding the JSON object in a model's answer; compiled, internal, not installed.

#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace planner::detail {

/// The JSON object found in a model's answer, or why there is none.
struct ExtractedJson {
    std::optional<nlohmann::json> object;
    std::string error;  ///< one line; empty when `object` holds a value
};

/// Finds the one JSON object in `text`: the whole text, the first fenced code block that holds
/// an object, or a single object embedded in prose. Models wrap answers in all three ways even
/// when asked not to. Several different objects in prose are refused rather than guessed at.
ExtractedJson extract_json_object(std::string_view text);

}  // namespace planner::detail
