#include "json_extract.hpp"

#include <algorithm>
#include <utility>
#include <vector>

#include "planner/detail/json_limits.hpp"
#include "text.hpp"

namespace planner::detail {

namespace {

/// Deeper answers are refused before parsing: nlohmann's parser recurses once per level.
constexpr std::size_t kMaxAnswerDepth = 64;

/// Parses `text` as one JSON value; the error names what went wrong.
ExtractedJson parse_object(std::string_view text) {
    if (json_text_exceeds_depth(text, kMaxAnswerDepth)) {
        return {std::nullopt, "JSON nested deeper than " + std::to_string(kMaxAnswerDepth)};
    }
    auto value = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (value.is_discarded()) return {std::nullopt, "not valid JSON"};
    if (!value.is_object())
        return {std::nullopt, std::string("JSON ") + value.type_name() + " instead of an object"};
    return {std::move(value), {}};
}

/// The body of the first ``` fence, without its info string ("json"), if the text has one.
std::optional<std::string_view> first_fenced_block(std::string_view text) {
    const auto open = text.find("```");
    if (open == std::string_view::npos) return std::nullopt;
    const auto line_end = text.find('\n', open);
    if (line_end == std::string_view::npos) return std::nullopt;
    const auto close = text.find("```", line_end + 1);
    if (close == std::string_view::npos) return std::nullopt;
    return text.substr(line_end + 1, close - line_end - 1);
}

/// Top-level `{...}` spans, balanced while respecting JSON strings; one linear pass.
std::vector<std::string_view> brace_spans(std::string_view text) {
    std::vector<std::string_view> spans;
    std::size_t depth = 0;
    std::size_t start = 0;
    bool in_string = false;
    bool escaped = false;
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (depth == 0) {
            if (c == '{') {
                depth = 1;
                start = i;
            }
            continue;
        }
        if (in_string) {
            if (escaped) {
                escaped = false;
            } else if (c == '\\') {
                escaped = true;
            } else if (c == '"') {
                in_string = false;
            }
        } else if (c == '"') {
            in_string = true;
        } else if (c == '{') {
            ++depth;
        } else if (c == '}' && --depth == 0) {
            spans.push_back(text.substr(start, i - start + 1));
        }
    }
    return spans;
}

}  // namespace

ExtractedJson extract_json_object(std::string_view text) {
    const auto whole = trim(text);
    if (whole.empty()) return {std::nullopt, "empty answer"};
    if (whole.front() == '{' && whole.back() == '}') {
        auto parsed = parse_object(whole);
        if (parsed.object) return parsed;
    }
    if (const auto fenced = first_fenced_block(whole)) {
        auto parsed = parse_object(trim(*fenced));
        if (parsed.object) return parsed;
    }
    std::vector<nlohmann::json> found;
    std::string last_error;
    for (const auto span : brace_spans(whole)) {
        auto parsed = parse_object(span);
        if (!parsed.object) {
            last_error = std::move(parsed.error);
            continue;
        }
        if (std::find(found.begin(), found.end(), *parsed.object) == found.end()) {
            found.push_back(std::move(*parsed.object));
        }
    }
    if (found.size() == 1) return {std::move(found.front()), {}};
    if (found.size() > 1) {
        return {std::nullopt, "the answer holds " + std::to_string(found.size()) +
                                  " different JSON objects; expected one"};
    }
    if (!last_error.empty()) return {std::nullopt, last_error};
    return {std::nullopt, "no JSON object in the answer"};
}

}  // namespace planner::detail
