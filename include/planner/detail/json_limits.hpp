#pragma once

#include <cstddef>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace planner::detail {

/// Nesting depth of a parsed value, computed without recursion so that a hostile 10 000-level
/// document cannot overflow the stack here.
inline std::size_t json_depth(const nlohmann::json& root) {
    std::size_t max_depth = 0;
    std::vector<std::pair<const nlohmann::json*, std::size_t>> stack{{&root, 1}};
    while (!stack.empty()) {
        auto [node, depth] = stack.back();
        stack.pop_back();
        if (!node->is_structured()) continue;
        if (depth > max_depth) max_depth = depth;
        for (const auto& child : *node) stack.emplace_back(&child, depth + 1);
    }
    return max_depth;
}

/// True when raw JSON text nests deeper than `limit`. A linear scan that respects strings, run
/// before parsing because nlohmann's parser and serializer recurse once per level.
constexpr bool json_text_exceeds_depth(std::string_view text, std::size_t limit) noexcept {
    std::size_t depth = 0;
    bool in_string = false;
    bool escaped = false;
    for (const char c : text) {
        if (in_string) {
            if (escaped) {
                escaped = false;
            } else if (c == '\\') {
                escaped = true;
            } else if (c == '"') {
                in_string = false;
            }
            continue;
        }
        if (c == '"') {
            in_string = true;
        } else if (c == '{' || c == '[') {
            if (++depth > limit) return true;
        } else if ((c == '}' || c == ']') && depth > 0) {
            --depth;
        }
    }
    return false;
}

/// Serialises with invalid UTF-8 replaced by U+FFFD instead of throwing: event payloads come
/// from any publisher on the bus.
inline std::string dump_lenient(const nlohmann::json& value, int indent = -1) {
    return value.dump(indent, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace planner::detail
